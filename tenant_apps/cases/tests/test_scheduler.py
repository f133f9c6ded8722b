"""`run_scheduler`: one scheduler sends the deadline job to every active unit; another one waits."""

from io import StringIO
from unittest import mock

import psycopg
from django.core.management import call_command

from shared_apps.consultations import actors as consultation_actors
from shared_apps.handoffs import actors as handoff_actors
from shared_apps.payments import actors as payment_actors
from shared_apps.ratings import actors as rating_actors
from tenant_apps.cases import actors
from tenant_apps.cases.management.commands.run_scheduler import SCHEDULER_LOCK
from tenants.models import Tenant
from tests.servers import database_url


def test_only_the_scheduler_holding_the_lock_sends(db):
    units = sorted(
        Tenant.objects.filter(
            status=Tenant.Status.ACTIVE, provisioned_at__isnull=False
        ).values_list("code", flat=True)
    )
    with (
        mock.patch("govplatform.jobs.setup_broker"),
        mock.patch.object(actors.mark_case_deadlines, "send") as send,
        mock.patch.object(actors.relay_case_notices, "send") as relay,
        mock.patch.object(handoff_actors.relay_handoffs, "send") as handoffs,
        mock.patch.object(payment_actors.payments_daily, "send") as payments,
        mock.patch.object(payment_actors.deliver_payment_webhooks, "send") as webhooks,
        mock.patch.object(rating_actors.mark_rectification_deadlines, "send") as rectifications,
        mock.patch.object(consultation_actors.escalate_overdue_consultations, "send") as escalate,
        psycopg.connect(database_url(), autocommit=True) as other_scheduler,
    ):
        other_scheduler.execute("SELECT pg_advisory_lock(%s)", [SCHEDULER_LOCK])
        out = StringIO()
        call_command("run_scheduler", "--once", stdout=out)
        assert "nothing sent" in out.getvalue() and send.call_count == 0
        assert relay.call_count == 0
        assert handoffs.call_count == 0 and payments.call_count == 0
        assert rectifications.call_count == 0 and escalate.call_count == 0
        other_scheduler.execute("SELECT pg_advisory_unlock(%s)", [SCHEDULER_LOCK])
        call_command("run_scheduler", "--once", stdout=out)
    assert sorted(call.args[0] for call in send.call_args_list) == units
    assert f"sent to {len(units)} units" in out.getvalue()
    assert relay.call_count == 1
    assert handoffs.call_count == 1
    assert payments.call_count == 1  # at start, then once a day
    assert webhooks.call_count == 1
    assert rectifications.call_count == 1 and escalate.call_count == 1
