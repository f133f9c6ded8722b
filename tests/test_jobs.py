"""Jobs through a real broker and a real worker process.

The brokers come from TEST_BROKER_URLS (comma-separated; `database` means the PostgreSQL broker
on the platform's own database), default: the configured one. CI runs Redis, RabbitMQ and the
database broker.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from dramatiq import Message

from govplatform.jobs import broker_kind, build_broker, ensure_postgres_queue_tables

ROOT = Path(__file__).resolve().parents[1]


def broker_urls() -> list[str]:
    configured = os.environ.get("TEST_BROKER_URLS")
    if configured:
        return [u.strip() for u in configured.split(",") if u.strip()]
    return [settings.BROKER_URL or "database"]


def database_url() -> str:
    """A URL for the test database (the worker must use it, not the development one)."""
    params = connection.settings_dict
    host = params["HOST"] or params["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{params['USER']}:@/{params['NAME']}?host={host}"
    port = f":{params['PORT']}" if params["PORT"] else ""
    return f"postgresql://{params['USER']}@{host}{port}/{params['NAME']}"


@pytest.fixture(params=broker_urls(), ids=lambda url: broker_kind("" if url == "database" else url))
def worker(request, db, tmp_path):
    url = "" if request.param == "database" else request.param
    queue = f"probes_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DRAMATIQ_BROKER_URL": url,
        "PROBE_QUEUE": queue,
    }
    if not url:
        ensure_postgres_queue_tables(database_url())
    broker = build_broker(url or database_url())
    broker.declare_queue(queue)
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "govplatform.worker",
            "tests.job_probes",
            "--processes",
            "1",
            "--threads",
            "1",
            "--queues",
            queue,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def send(actor_name: str, *args):
        message = Message(queue_name=queue, actor_name=actor_name, args=args, kwargs={}, options={})
        broker.enqueue(message)
        return message

    yield send, tmp_path / "reports.jsonl", tmp_path / "worker.log"
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    broker.close()


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
