"""`run_scheduler` sends the supervision relay job (and the overdue orders' sweep) with its other
rounds; the job follows the
outbox until the next round, and only one job follows at a time."""

from io import StringIO
from unittest import mock

import psycopg
from django.core.management import call_command

from shared_apps.supervision import actors, relay
from tenant_apps.cases import actors as case_actors
from tests.servers import database_url


def test_the_scheduler_sends_the_supervision_relay(db):
    with (
        mock.patch("govplatform.jobs.setup_broker"),
        mock.patch.object(case_actors.mark_case_deadlines, "send"),
        mock.patch.object(case_actors.relay_case_notices, "send"),
        mock.patch.object(actors.relay_supervision_ledger, "send") as send,
        mock.patch.object(actors.mark_overdue_supervision_orders, "send") as sweep,
    ):
        call_command("run_scheduler", "--once", "--due-only", stdout=StringIO())
    assert send.call_count == 1
    assert sweep.call_count == 1


def test_a_job_follows_only_while_no_other_does(db):
    calls = []
    with mock.patch.object(relay, "relay", side_effect=lambda **kw: calls.append(kw) or 0):
        with psycopg.connect(database_url(), autocommit=True) as other_job:
            other_job.execute("SELECT pg_advisory_lock(%s)", [relay.FOLLOW_LOCK])
            relay.follow(seconds=0.3, poll=0.05)
            assert len(calls) == 1  # relayed once, then left the following to the other
            other_job.execute("SELECT pg_advisory_unlock(%s)", [relay.FOLLOW_LOCK])
        relay.follow(seconds=0.3, poll=0.05)
    assert len(calls) > 3
