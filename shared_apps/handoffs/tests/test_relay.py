"""The relay: order per (receiving unit, case), each hand-off applied once, failures held and
retried; and a real worker process killed (SIGKILL) in the middle of 10,000 hand-offs."""

import json
import time
import uuid

import psycopg
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from shared_apps.handoffs import actions as handoffs
from shared_apps.handoffs import relay
from shared_apps.handoffs.models import Handoff, Kind, Status
from shared_apps.handoffs.tests.conftest import handed_over
from tenant_apps.cases.models import Case, CaseEvent
from tests.servers import database_url


def _send(township, county, number, *, case_id=None, payload=None, kind=Kind.JOINT_ACCEPT):
    return Handoff.objects.create(
        from_tenant=township,
        to_tenant=county,
        case_public_id=case_id or uuid.uuid4(),
        case_number=number,
        kind=kind,
        payload=payload if payload is not None else handed_over(number),
    )


def test_a_failing_handoff_holds_back_its_case_only_until_it_is_applied(root, township, county):
    case_x = uuid.uuid4()
    broken = handed_over("HO-ORDER-X")
    del broken["sent_at"]
    first = _send(township, county, "HO-ORDER-X", case_id=case_x, payload=broken)
    second = _send(township, county, "HO-ORDER-X", case_id=case_x, kind=Kind.ESCALATE)
    other = _send(township, county, "HO-ORDER-Y")

    assert relay.relay() == 1
    for row in (first, second, other):
        row.refresh_from_db()
    assert (other.status, first.status, first.attempts) == (Status.APPLIED, Status.PENDING, 1)
    assert "sent_at" in first.reason
    # The later hand-off of the same case waits, untried, behind the failing one.
    assert (second.status, second.attempts) == (Status.PENDING, 0)

    for _run in range(relay.MAX_ATTEMPTS):
        relay.relay()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == (Status.FAILED, relay.MAX_ATTEMPTS)
    assert (second.status, second.attempts) == (Status.PENDING, 0)

    # The cause fixed, an administrator retries it: it applies, then the next one gets its turn.
    with pytest.raises(PermissionDenied):
        handoffs.retry(first, actor="system:tests")
    Handoff.objects.filter(pk=first.pk).update(payload=handed_over("HO-ORDER-X"))
    handoffs.retry(first, actor=root)
    relay.relay()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.APPLIED and first.applied_at is not None
    assert second.attempts >= 1  # tried only after the first was applied
    connection.set_tenant(county)
    assert Case.objects.filter(public_id=case_x).count() == 1
    assert CaseEvent.objects.filter(handoff_id=first.pk).count() == 1


def test_each_handoff_is_applied_once_however_often_the_relay_runs(township, county):
    rows = [_send(township, county, f"HO-ONCE-{n}") for n in range(30)]
    assert relay.relay(batch=7) == 30
    assert relay.relay() == 0
    connection.set_tenant(county)
    events = CaseEvent.objects.filter(handoff_id__in=[row.pk for row in rows])
    assert sorted(events.values_list("handoff_id", flat=True)) == [row.pk for row in rows]
    # A row set pending again by hand is recognised as applied (its id is on an event) and not
    # applied a second time.
    connection.set_schema_to_public()
    Handoff.objects.filter(pk=rows[0].pk).update(status=Status.PENDING)
    assert relay.relay() == 1
    connection.set_tenant(county)
    assert Case.objects.filter(public_id=rows[0].case_public_id).count() == 1
    assert CaseEvent.objects.filter(handoff_id=rows[0].pk).count() == 1


# --- fault injection: a real worker killed mid-way ----------------------------------------------

TOTAL = 10_000


def _counts(conn, prefix: str, schema: str) -> dict:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'applied'),"
        " count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed')"
        " FROM public.handoffs_handoff WHERE case_number LIKE %s",
        [prefix + "%"],
    ).fetchone()
    events = conn.execute(
        f'SELECT count(*), count(DISTINCT e.handoff_id) FROM "{schema}".cases_caseevent e'
        " JOIN public.handoffs_handoff h ON h.id = e.handoff_id WHERE h.case_number LIKE %s",
        [prefix + "%"],
    ).fetchone()
    cases = conn.execute(
        f'SELECT count(*), count(DISTINCT number) FROM "{schema}".cases_case WHERE number LIKE %s',
        [prefix + "%"],
    ).fetchone()
    audited = conn.execute(
        "SELECT count(*), count(DISTINCT target) FROM public.audit_auditentry"
        " WHERE action = 'cases.receive_handoff' AND target LIKE %s",
        [prefix + "%"],
    ).fetchone()
    return {
        "applied": row[0],
        "pending": row[1],
        "failed": row[2],
        "events": events[0],
        "events_distinct": events[1],
        "cases": cases[0],
        "cases_distinct": cases[1],
        "audited": audited[0],
        "audited_distinct": audited[1],
    }


def _queue(conn, township, county, prefix: str, total: int) -> None:
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY public.handoffs_handoff (from_tenant_id, to_tenant_id, case_public_id,"
            " case_number, kind, payload, status, reason, attempts, created_at) FROM STDIN"
        ) as copy,
    ):
        for n in range(total):
            number = f"{prefix}{n:05d}"
            copy.write_row(
                (
                    township.pk,
                    county.pk,
                    uuid.uuid4(),
                    number,
                    Kind.JOINT_ACCEPT.value,
                    json.dumps(handed_over(number)),
                    "pending",
                    "",
                    0,
                    "now",
                )
            )


def _clean(conn, prefix: str, schema: str, county, watched: bool) -> None:
    numbers = prefix + "%"
    conn.execute(
        f'DELETE FROM "{schema}".cases_caseevent WHERE case_id IN'
        f' (SELECT id FROM "{schema}".cases_case WHERE number LIKE %s)',
        [numbers],
    )
    conn.execute(f'DELETE FROM "{schema}".cases_case WHERE number LIKE %s', [numbers])
    conn.execute("DELETE FROM public.ledger_applicantcase WHERE number LIKE %s", [numbers])
    conn.execute("DELETE FROM public.ledger_caseeventoutbox WHERE case_number LIKE %s", [numbers])
    conn.execute("DELETE FROM public.handoffs_handoff WHERE case_number LIKE %s", [numbers])
    if not watched:
        conn.execute("DELETE FROM public.ledger_deadlinewatch WHERE tenant_id = %s", [county.pk])


@pytest.mark.slow
def test_a_worker_killed_mid_relay_loses_no_handoff_and_applies_none_twice(
    township, county, tmp_path, monkeypatch
):
    from tests.test_jobs import Workers, broker_urls, wait_until

    prefix = f"HOKILL{uuid.uuid4().hex[:6]}-"
    url = broker_urls()[0]
    workers = Workers("" if url == "database" else url, tmp_path)
    monkeypatch.setenv("HANDOFFS_QUEUE", workers.queue)
    with psycopg.connect(database_url(), autocommit=True) as conn:
        watched = bool(
            conn.execute(
                "SELECT 1 FROM public.ledger_deadlinewatch WHERE tenant_id = %s", [county.pk]
            ).fetchone()
        )
        try:
            _queue(conn, township, county, prefix, TOTAL)
            first = workers.start(threads=2)
            started = time.monotonic()
            workers.send("relay_handoffs")
            workers.send("relay_handoffs")  # two relays at once, as overlapping rounds would
            wait_until(
                lambda: _counts(conn, prefix, county.schema_name)["applied"] >= TOTAL // 4,
                600,
                f"a quarter relayed (worker log: {workers.log})",
            )
            workers.kill(first)
            at_kill = _counts(conn, prefix, county.schema_name)
            rate = at_kill["applied"] / (time.monotonic() - started)
            assert at_kill["applied"] < TOTAL, "the worker finished before it was killed"
            # What the killed worker had committed is whole: every applied row has its one case.
            assert at_kill["applied"] == at_kill["events"] == at_kill["cases"]

            workers.start(threads=2)
            workers.send("relay_handoffs")
            wait_until(
                lambda: _counts(conn, prefix, county.schema_name)["applied"] == TOTAL,
                900,
                f"every hand-off relayed (worker log: {workers.log})",
            )
            time.sleep(1)  # a redelivered relay job, if any, finds nothing left to do
            final = _counts(conn, prefix, county.schema_name)
            print(
                f"{at_kill['applied']} of {TOTAL} applied at the kill ({rate:.0f}/s); "
                f"after the restart: {final}"
            )
            assert final == {
                "applied": TOTAL,
                "pending": 0,
                "failed": 0,
                "events": TOTAL,
                "events_distinct": TOTAL,
                "cases": TOTAL,
                "cases_distinct": TOTAL,
                "audited": TOTAL,
                "audited_distinct": TOTAL,
            }
        finally:
            workers.stop()
            _clean(conn, prefix, county.schema_name, county, watched)


RELAY_SCRIPT = (
    "import django, os, sys\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'govplatform.settings')\n"
    "django.setup()\n"
    "from django.db import connection\n"
    "from shared_apps.handoffs import relay\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT pg_backend_pid()')\n"
    "    print(cursor.fetchone()[0], flush=True)\n"
    "print('relayed', relay.relay(batch=100), flush=True)\n"
)


def _relay_process():
    import os
    import subprocess
    import sys

    from tests.test_jobs import ROOT

    return subprocess.Popen(
        [sys.executable, "-c", RELAY_SCRIPT],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_a_relay_whose_database_connection_is_cut_mid_batch_loses_nothing(township, county):
    from tests.test_jobs import wait_until

    prefix = f"HOCUT{uuid.uuid4().hex[:6]}-"
    total = 600
    with psycopg.connect(database_url(), autocommit=True) as conn:
        watched = bool(
            conn.execute(
                "SELECT 1 FROM public.ledger_deadlinewatch WHERE tenant_id = %s", [county.pk]
            ).fetchone()
        )
        try:
            _queue(conn, township, county, prefix, total)
            cut = _relay_process()
            pid = int(cut.stdout.readline())
            wait_until(
                lambda: _counts(conn, prefix, county.schema_name)["applied"] >= 100,
                300,
                "a first batch relayed",
            )
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])  # the server side goes
            output = cut.communicate(timeout=60)[0]
            assert cut.returncode != 0, output
            at_cut = _counts(conn, prefix, county.schema_name)
            assert at_cut["applied"] < total, "the relay finished before its connection was cut"
            assert at_cut["applied"] == at_cut["events"] == at_cut["cases"]

            again = _relay_process()
            output = again.communicate(timeout=600)[0]
            assert again.returncode == 0, output
            final = _counts(conn, prefix, county.schema_name)
            assert (final["applied"], final["pending"], final["failed"]) == (total, 0, 0)
            assert final["events"] == final["events_distinct"] == total
            assert final["cases"] == final["cases_distinct"] == total
            assert final["audited"] == final["audited_distinct"] == total
        finally:
            _clean(conn, prefix, county.schema_name, county, watched)


def test_operators_find_failed_handoffs_in_the_admin_and_retry_them(client, root, township, county):
    from django.conf import settings

    from conftest import sign_in_with_second_factor
    from shared_apps.audit.models import AuditEntry

    broken = handed_over("HO-ADMIN-X")
    del broken["sent_at"]
    row = _send(township, county, "HO-ADMIN-X", payload=broken)
    Handoff.objects.filter(pk=row.pk).update(status=Status.FAILED, attempts=relay.MAX_ATTEMPTS)
    sign_in_with_second_factor(client, root)
    host = settings.BASE_DOMAIN
    listed = client.get("/admin/handoffs/handoff/?status__exact=failed", HTTP_HOST=host)
    assert listed.status_code == 200 and "HO-ADMIN-X" in listed.content.decode()
    shown = client.get(f"/admin/handoffs/handoff/{row.pk}/change/", HTTP_HOST=host)
    assert shown.status_code == 200 and "老王烩面馆" not in shown.content.decode()  # no payload

    retried = client.post(
        "/admin/handoffs/handoff/",
        {"action": "retry_failed", "_selected_action": [row.pk]},
        HTTP_HOST=host,
    )
    assert retried.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert AuditEntry.objects.filter(action="handoffs.retry", target=str(row.pk)).count() == 1
    # Nothing else changes here: no adding, editing or deleting.
    assert client.get("/admin/handoffs/handoff/add/", HTTP_HOST=host).status_code == 403
    deleted = client.post(
        f"/admin/handoffs/handoff/{row.pk}/delete/", {"post": "yes"}, HTTP_HOST=host
    )
    assert deleted.status_code == 403 and Handoff.objects.filter(pk=row.pk).exists()
