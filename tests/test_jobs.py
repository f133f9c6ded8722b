"""Jobs through a real broker and a real worker process.

The brokers come from TEST_BROKER_URLS (comma-separated; `database` means the PostgreSQL broker
on the platform's own database), default: the configured one. CI runs Redis, RabbitMQ and the
database broker.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from govplatform.jobs import (
    TenantUnavailable,
    broker_kind,
    build_broker,
    ensure_postgres_queue_tables,
    prune_completions,
    tenant_actor,
)
from shared_apps.jobs.models import JobCompletion
from tenant_apps.departments.models import Department
from tenants.actions import suspend_tenant
from tests.servers import database_url

ROOT = Path(__file__).resolve().parents[1]


def broker_urls() -> list[str]:
    configured = os.environ.get("TEST_BROKER_URLS")
    if configured:
        return [u.strip() for u in configured.split(",") if u.strip()]
    return [settings.BROKER_URL or "database"]


class Workers:
    """Worker processes (the dramatiq CLI, as in production) on one broker and a fresh queue."""

    def __init__(self, url: str, tmp_path: Path):
        self.url = url
        self.tmp_path = tmp_path
        self.queue = f"probes_{uuid.uuid4().hex[:8]}"
        self.reports = tmp_path / "reports.jsonl"
        self.acks = tmp_path / "acks.txt"
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        if not url:
            ensure_postgres_queue_tables(database_url())
        self.broker = build_broker(url or database_url())
        self.broker.declare_queue(self.queue)

    @property
    def log(self) -> Path:
        """The log of the latest worker."""
        return self.logs[-1]

    def start(self, threads: int = 1) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DRAMATIQ_BROKER_URL": self.url,
            "PROBE_QUEUE": self.queue,
            "PROBE_ACKS": str(self.acks),
        }
        argv = [
            sys.executable, "-m", "dramatiq", "govplatform.worker", "tests.job_probes",
            "--processes", "1", "--threads", str(threads), "--queues", self.queue,
        ]  # fmt: skip
        log_path = self.tmp_path / f"worker-{len(self.logs) + 1}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so that a test can kill the worker and its children at once.
                start_new_session=True,
            )
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """What a crash or an OOM kill does: SIGKILL to the worker's processes, nothing flushed."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)

    def send(self, actor_name: str, *args, message: Message | None = None) -> Message:
        message = message or Message(
            queue_name=self.queue, actor_name=actor_name, args=args, kwargs={}, options={}
        )
        self.broker.enqueue(message)
        return message

    def acked(self) -> list[str]:
        return self.acks.read_text("utf-8").split() if self.acks.exists() else []

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.broker.close()


@pytest.fixture(params=broker_urls(), ids=lambda url: broker_kind("" if url == "database" else url))
def workers(request, db, tmp_path):
    workers = Workers("" if request.param == "database" else request.param, tmp_path)
    yield workers
    workers.stop()


@pytest.fixture
def worker(workers):
    """One running worker: (send, reports file, log file)."""
    workers.start()
    return workers.send, workers.reports, workers.log


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def wait_for_reports(path: Path, count: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text("utf-8").splitlines()
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
        time.sleep(0.1)
    raise AssertionError(
        f"expected {count} reports in {path}, got {path.read_text('utf-8') if path.exists() else 'none'}"
    )


def test_the_tenant_reaches_the_actor(worker, tenant):
    send, reports, _log = worker
    send("probe_tenant", tenant.code, str(reports))
    [report] = wait_for_reports(reports, 1)
    assert report["tenant_code"] == tenant.code
    assert report["schema_name"] == tenant.schema_name
    assert report["search_path"].startswith(tenant.schema_name)


def test_schema_is_reset_after_a_failing_actor(worker, tenant):
    send, reports, _log = worker
    send("fail_in_tenant", tenant.code, str(reports))
    first = wait_for_reports(reports, 1)
    send("probe_schema", str(reports))
    after = [r for r in wait_for_reports(reports, 2, timeout=30) if r["actor"] == "probe_schema"]
    assert first[0]["schema_name"] == tenant.schema_name
    assert after and after[0]["schema_name"] == "public" and after[0]["search_path"] == "public"


def test_message_for_unknown_tenant_fails_clearly_without_retries(worker, tenant):
    send, reports, log = worker
    send("probe_tenant", "419999999000", str(reports))
    send("probe_schema", str(reports))  # processed after the failing one: the worker went on
    wait_for_reports(reports, 1)
    time.sleep(1.0)
    text = log.read_text("utf-8")
    assert "refused: 没有区划代码为 419999999000 的单位" in text, text
    assert text.count("Aborting message") == 1, text  # failed for good, not retried
    assert "Retrying" not in text


def test_an_actor_with_its_own_throws_still_never_retries_an_unknown_tenant(worker):
    send, reports, log = worker
    send("probe_with_own_throws", "419999999000", str(reports))
    send(
        "probe_schema", str(reports)
    )  # one thread: handled after the refusal and its retry, if any
    wait_for_reports(reports, 1)
    text = log.read_text("utf-8")
    assert "refused: 没有区划代码为 419999999000 的单位" in text, text
    assert "Aborting message" in text, text
    assert "Retrying" not in text, text


def _set_provisioned_at(tenant, value):
    """Committed at once (the worker must see it), outside the test's transaction."""
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(
            "UPDATE tenants_tenant SET provisioned_at = %s WHERE code = %s", [value, tenant.code]
        )


def test_a_job_for_a_unit_not_provisioned_yet_says_so_and_runs_once_it_is(workers, other_tenant):
    """The unit's row exists before its schema (import, then provisioning): a job sent in between
    is refused for now, with its own message, and retried until the schema is there."""
    provisioned_at = other_tenant.provisioned_at
    _set_provisioned_at(other_tenant, None)
    try:
        workers.start()
        workers.send("probe_patiently", other_tenant.code, str(workers.reports))
        wait_until(
            lambda: workers.log.read_text("utf-8").count("Retrying") >= 2,
            30,
            "the refused job retried",
        )
        text = workers.log.read_text("utf-8")
        assert f"refused for now: {other_tenant} 的数据库模式尚未创建" in text, text
        assert not workers.reports.exists()
    finally:
        _set_provisioned_at(other_tenant, provisioned_at)
    [report] = wait_for_reports(workers.reports, 1)
    assert report["tenant_code"] == other_tenant.code
    assert report["schema_name"] == other_tenant.schema_name


def _departments_named(tenants, prefix: str) -> Counter:
    """Departments whose name starts with `prefix` in these tenants' schemas, by name."""
    names = Counter()
    for tenant in tenants:
        connection.set_tenant(tenant)
        names.update(
            Department.objects.filter(name__startswith=prefix).values_list("name", flat=True)
        )
    connection.set_schema_to_public()
    return names


def _delete_departments(tenants, prefix: str) -> None:
    with psycopg.connect(database_url(), autocommit=True) as conn:
        for tenant in tenants:
            conn.execute(
                f'DELETE FROM "{tenant.schema_name}".departments_department WHERE name LIKE %s',
                [prefix + "%"],
            )


@pytest.mark.slow
def test_jobs_of_a_killed_worker_run_again_and_take_effect_exactly_once(
    workers, tenant, other_tenant
):
    """kill -9 in the middle of a batch: messages in flight go back to the queue within the
    broker's bound and run on the next worker; those that had committed do nothing again."""
    batch = f"kill-{uuid.uuid4().hex[:8]}"
    tenants = [tenant, other_tenant]
    names = [f"{batch} {n:02d}" for n in range(24)]
    try:
        first = workers.start(threads=3)
        sent = [
            workers.send("add_department", tenants[n % 2].code, name, 0.2, 1.0)
            for n, name in enumerate(names)
        ]
        # Kill right after a commit, while that job waits between commit and acknowledgement.
        wait_until(lambda: sum(_departments_named(tenants, batch).values()) >= 6, 60, "6 jobs done")
        workers.kill(first)
        killed_at = time.monotonic()
        done_before = sum(_departments_named(tenants, batch).values())
        assert done_before < len(names), "the worker finished the batch before it was killed"

        workers.start(threads=3)
        wait_until(
            lambda: {m.message_id for m in sent} <= set(workers.acked()),
            60,
            "every message of the batch acknowledged",
        )
        print(
            f"{broker_kind(workers.url)}: {done_before} of {len(names)} done at the kill, "
            f"the rest {time.monotonic() - killed_at:.1f} s later"
        )
        assert _departments_named(tenants, batch) == Counter(names)  # each exactly once
        # A job that had committed was delivered again and skipped: the case that ran twice.
        assert "was already done; skipped" in workers.log.read_text("utf-8")
    finally:
        _delete_departments(tenants, batch)


@pytest.mark.slow
def test_the_same_message_delivered_twice_at_once_takes_effect_once(workers, tenant):
    """Two deliveries of one message running side by side (a worker taken for dead while it
    works): the second waits for the first's transaction, then skips."""
    name = f"race-{uuid.uuid4().hex[:8]}"
    try:
        workers.start(threads=2)
        message = workers.send("add_department", tenant.code, name, 2.0, 0.0, str(workers.reports))
        wait_for_reports(workers.reports, 1)  # the first delivery is inside its transaction
        workers.send("add_department", message=message)
        wait_until(
            lambda: workers.acked().count(message.message_id) == 2,
            30,
            "both deliveries acknowledged",
        )
        assert _departments_named([tenant], name) == Counter([name])
        assert "was already done; skipped" in workers.log.read_text("utf-8")
    finally:
        _delete_departments([tenant], name)


# In-process: the decorator itself, on a stub broker, inside the test's transaction.

stub_broker = StubBroker()
runs: list[tuple[str, str]] = []


@tenant_actor(broker=stub_broker, actor_name="record_schema")
def record_schema(note: str = "", inner_code: str = "") -> str:
    runs.append((note, connection.schema_name))
    if note == "fail":
        raise RuntimeError("the probe failed on purpose")
    if inner_code:  # calls itself directly for another unit, as part of this job
        record_schema(inner_code, "inner")
        runs.append(("back", connection.schema_name))
    return connection.schema_name


@contextmanager
def delivered(message: Message):
    """As the worker does around a message: it is the current one while the actor runs."""
    current = CurrentMessage()
    current.before_process_message(stub_broker, message)
    try:
        yield
    finally:
        current.after_process_message(stub_broker, message)


def a_message(tenant, *args) -> Message:
    return Message(
        queue_name="default", actor_name="record_schema", args=(tenant.code, *args), kwargs={},
        options={},
    )  # fmt: skip


def test_the_schema_active_before_the_actor_is_restored(tenant, other_tenant):
    connection.set_tenant(other_tenant)
    assert record_schema(tenant.code) == tenant.schema_name
    assert connection.schema_name == other_tenant.schema_name
    with pytest.raises(TenantUnavailable):
        record_schema("419999999000")
    assert connection.schema_name == other_tenant.schema_name


@pytest.mark.parametrize(
    "code",
    [
        "4101020000\x0000",
        "41010200000\x00",
        "4" * 5000,
        "４１０１０２０００００",
        410102000000,
        None,
    ],
)
def test_malformed_division_codes_are_refused_before_any_query(db, code):
    """Refused as unknown (never retried), not failed by the database on a NUL or a long value."""
    runs.clear()
    message = Message(
        queue_name="default", actor_name="record_schema", args=(code,), kwargs={}, options={}
    )
    with delivered(message), pytest.raises(TenantUnavailable, match="没有区划代码为"):
        record_schema(code)
    assert runs == []
    assert not JobCompletion.objects.filter(message_id=message.message_id).exists()


def test_a_message_takes_effect_once_and_a_failed_run_leaves_no_record(tenant):
    runs.clear()
    failing = a_message(tenant, "fail")
    with delivered(failing), pytest.raises(RuntimeError):
        record_schema(tenant.code, "fail")
    assert not JobCompletion.objects.filter(message_id=failing.message_id).exists()

    message = a_message(tenant, "once")
    for _delivery in range(3):
        with delivered(message):
            record_schema(tenant.code, "once")
    assert runs == [("fail", tenant.schema_name), ("once", tenant.schema_name)]
    record = JobCompletion.objects.get(message_id=message.message_id)
    assert (record.actor_name, record.tenant_code) == ("record_schema", tenant.code)


def test_an_actor_called_from_a_job_runs_as_part_of_that_job(tenant, other_tenant):
    runs.clear()
    message = a_message(tenant, "outer", other_tenant.code)
    for _delivery in range(2):
        with delivered(message):
            record_schema(tenant.code, "outer", other_tenant.code)
    assert runs == [
        ("outer", tenant.schema_name),
        ("inner", other_tenant.schema_name),
        ("back", tenant.schema_name),
    ]


def test_a_done_message_is_skipped_even_after_its_unit_was_suspended(tenant, provincial_admin):
    runs.clear()
    message = a_message(tenant, "before")
    with delivered(message):
        record_schema(tenant.code, "before")
    suspend_tenant(tenant, actor=provincial_admin, reason="test")
    with delivered(message):
        assert record_schema(tenant.code, "before") is None  # skipped, not refused
    with delivered(a_message(tenant, "after")), pytest.raises(TenantUnavailable):
        record_schema(tenant.code, "after")
    assert runs == [("before", tenant.schema_name)]


def test_old_completion_records_are_pruned(tenant):
    now = timezone.now()
    old, recent = uuid.uuid4(), uuid.uuid4()
    for message_id, ran_at in ((old, now - timedelta(days=8)), (recent, now - timedelta(days=6))):
        JobCompletion.objects.create(
            message_id=message_id,
            actor_name="record_schema",
            tenant_code=tenant.code,
            ran_at=ran_at,
        )
    assert prune_completions(timedelta(days=7)) >= 1
    assert not JobCompletion.objects.filter(message_id=old).exists()
    assert JobCompletion.objects.filter(message_id=recent).exists()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@pytest.mark.slow
def test_run_worker_starts_a_killed_worker_again(workers):
    """The OOM killer takes the worker process that runs the jobs: `run_worker` starts a new one,
    which runs what comes next (and what the broker delivers again)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DRAMATIQ_BROKER_URL": workers.url,
        "PROBE_QUEUE": workers.queue,
    }
    argv = [
        sys.executable, "manage.py", "run_worker", "--processes", "1", "--threads", "1",
        "--queues", workers.queue, "--modules", "tests.job_probes",
    ]  # fmt: skip
    log_path = workers.tmp_path / "run_worker.log"
    with log_path.open("w") as log:
        command = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        workers.send("probe_schema", str(workers.reports))
        wait_for_reports(workers.reports, 1)
        [dramatiq_main] = _children(command.pid)
        job_processes = _children(dramatiq_main)
        assert job_processes
        for pid in job_processes:
            os.kill(pid, signal.SIGKILL)

        workers.send("probe_schema", str(workers.reports))
        wait_for_reports(workers.reports, 2, timeout=60)
        assert "starting it again" in log_path.read_text("utf-8")
        assert command.poll() is None
        [new_main] = _children(command.pid)
        assert new_main != dramatiq_main
        new_processes = [new_main, *_children(new_main)]
    finally:
        command.terminate()  # SIGTERM: the worker stops and is not started again
        assert command.wait(timeout=30) == 0, log_path.read_text("utf-8")
    assert not [pid for pid in new_processes if Path(f"/proc/{pid}").exists()]
