"""Fault injection (issue 11): a real worker relaying 10,000 case events into the supervision
ledger is killed (SIGKILL) in the middle and started again: every event is in the ledger once,
and the counters equal the events counted from the outbox exactly."""

import time
import uuid

import pytest
from django.db import connection

from shared_apps.supervision.models import COUNTS, LedgerEntry, TenantCount
from shared_apps.supervision.tests.conftest import clean_ledger, committed  # noqa: F401
from tests.test_jobs import Workers, broker_urls, wait_until

EVENTS = 10_000


def write_events(tag: str) -> None:
    """10,000 outbox rows over every unit, in one statement (what the case actions write)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.ledger_caseeventoutbox (tenant_id, case_number, case_public_id,"
            " event, from_state, to_state, at, clock, notify_applicant, notify_staff, details,"
            " item_name, implementation_code, department_id, department_name, channel,"
            " applicant_kind)"
            " SELECT t.id, %(tag)s || n, md5(%(tag)s || n)::uuid,"
            " (ARRAY['submit', 'accept', 'decide', 'deadline.yellow', 'deadline.red'])[n %% 5 + 1],"
            " '', '', now() - (n %% 30) * interval '1 day',"
            " jsonb_build_object('state', 'running', 'flag', CASE WHEN n %% 7 = 0 THEN 'red'"
            " ELSE '' END), false, false, '{}'::jsonb, '测试事项', 'IMPL' || (n %% 13),"
            " n %% 4, '部门' || (n %% 4), (ARRAY['online', 'window'])[n %% 2 + 1], 'person'"
            " FROM generate_series(1, %(events)s) AS n"
            " JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS i,"
            " count(*) OVER () AS units FROM public.tenants_tenant) t ON t.i = n %% t.units",
            {"tag": tag, "events": EVENTS},
        )


def expected_counts(tag: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE event = 'submit'),"
            " count(*) FILTER (WHERE event = 'accept'),"
            " count(*) FILTER (WHERE event = 'decide'),"
            " count(*) FILTER (WHERE event = 'decide' AND clock->>'flag' <> 'red'),"
            " count(*) FILTER (WHERE event = 'deadline.yellow'),"
            " count(*) FILTER (WHERE event = 'deadline.red'),"
            " count(*) FILTER (WHERE event = 'submit' AND channel = 'online')"
            " FROM public.ledger_caseeventoutbox WHERE case_number LIKE %s",
            [f"{tag}%"],
        )
        return dict(zip(COUNTS, cursor.fetchone(), strict=True))


def ledgered(tag: str) -> int:
    return LedgerEntry.objects.filter(case_number__startswith=tag).count()


@pytest.mark.django_db
@pytest.mark.slow
def test_a_worker_killed_mid_relay_loses_and_doubles_nothing(
    django_db_blocker,
    tmp_path,
    monkeypatch,
    clean_ledger,  # noqa: F811
):
    tag = f"sv{uuid.uuid4().hex[:6]}-"
    committed(django_db_blocker, lambda: write_events(tag))
    expected = committed(django_db_blocker, lambda: expected_counts(tag))
    assert (
        sum(expected[n] for n in ("received", "accepted", "completed", "yellow", "red")) == EVENTS
    )
    url = broker_urls()[0]
    workers = Workers("" if url == "database" else url, tmp_path)
    monkeypatch.setenv("SUPERVISION_QUEUE", workers.queue)
    try:
        first = workers.start(threads=2)
        # Small batches, two relays at once: many commits to kill the worker between.
        workers.send("relay_supervision_ledger", 50)
        workers.send("relay_supervision_ledger", 50)
        wait_until(
            lambda: committed(django_db_blocker, lambda: ledgered(tag)) >= 1500,
            120,
            f"the worker ledgering (log: {workers.log})",
        )
        workers.kill(first)
        at_kill = committed(django_db_blocker, lambda: ledgered(tag))
        assert 0 < at_kill < EVENTS, "the worker was not killed in the middle"
        workers.start(threads=2)
        workers.send("relay_supervision_ledger", 500)
        wait_until(
            lambda: committed(django_db_blocker, lambda: ledgered(tag)) >= EVENTS,
            180,
            f"every event ledgered after the restart (log: {workers.log})",
        )
        time.sleep(1)  # a redelivered job of the killed worker would run by now
    finally:
        workers.stop()

    def totals():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT outbox_id) FROM public.supervision_ledgerentry"
                " WHERE case_number LIKE %s",
                [f"{tag}%"],
            )
            rows, distinct = cursor.fetchone()
        sums = {
            name: sum(getattr(row, name) for row in TenantCount.objects.all()) for name in COUNTS
        }
        return rows, distinct, sums

    rows, distinct, sums = committed(django_db_blocker, totals)
    assert rows == distinct == EVENTS
    assert sums == expected
