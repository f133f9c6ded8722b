"""The deadline job at provincial scale: `run_scheduler` sends it only to the units whose clocks
have something to mark (ledger.DeadlineWatch, kept by the actions and the job), every open clock
still gets marked, and a clock the calendar can't count reaches the operators (log and /healthz).
Same-day items (即办件): a promised time limit of 0."""

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from shared_apps.catalog import actions as catalog
from shared_apps.catalog.tests.conftest import make_department
from shared_apps.ledger.models import DeadlineWatch
from tenant_apps.cases import actions, actors, clock
from tenant_apps.cases.management.commands.run_scheduler import units_to_mark
from tenant_apps.cases.models import Case, ClockState, DeadlineFlag, State
from tenant_apps.cases.tests.conftest import local, publish_service, submitted_case
from tenant_apps.cases.tests.test_clock import at
from tenants.models import Tenant
from tests.helpers import host_of


def _accepted(service, tenant, people, moment):
    with at(moment):
        case = submitted_case(service, tenant, people.citizen)
        return actions.accept(case, actor=people.clerk)


def test_the_scheduler_sends_only_to_units_with_clocks_to_mark_and_all_get_marked(
    people, service, tenant, other_tenant
):
    assert units_to_mark(now=local(2026, 10, 1)) == []
    # Two cases accepted in one unit: the watch holds the earlier yellow time.
    first = _accepted(service, tenant, people, local(2026, 9, 29, 10))
    second = _accepted(service, tenant, people, local(2026, 9, 30, 10))
    connection.set_schema_to_public()
    watch = DeadlineWatch.objects.get(tenant=tenant)
    assert watch.next_mark_at == first.yellow_at < second.yellow_at
    assert not DeadlineWatch.objects.filter(tenant=other_tenant).exists()
    # Before the first yellow time, nobody; from it, only this unit, not the other 2,000.
    assert units_to_mark(now=first.yellow_at - timedelta(seconds=1)) == []
    assert units_to_mark(now=first.yellow_at) == [tenant.code]
    assert (
        len(units_to_mark(every_unit=True))
        == Tenant.objects.filter(status=Tenant.Status.ACTIVE, provisioned_at__isnull=False).count()
    )

    # The job run after both are overdue marks every open clock of the unit, then the unit has
    # nothing left to mark until a clock changes.
    later = second.due_at + timedelta(minutes=1)
    connection.set_tenant(tenant)
    assert actions.mark_deadlines(at=later) == {"yellow": 0, "red": 2, "unknown": 0}
    connection.set_tenant(tenant)
    mine = Case.objects.filter(applicant_id=people.citizen.pk)
    assert set(mine.values_list("deadline_flag", flat=True)) == {DeadlineFlag.RED}
    connection.set_schema_to_public()
    watch.refresh_from_db()
    assert watch.next_mark_at is None and watch.running == 2 and watch.clock_errors == 0
    assert units_to_mark(now=later + timedelta(days=30)) == []

    # The scheduler's round: the units due, through the job's queue.
    with (
        mock.patch("govplatform.jobs.setup_broker"),
        mock.patch.object(actors.mark_case_deadlines, "send") as send,
    ):
        out = StringIO()
        call_command("run_scheduler", "--once", "--due-only", stdout=out)
        assert send.call_count == 0 and "sent to 0 units" in out.getvalue()
        connection.set_tenant(tenant)
        third = _accepted(service, tenant, people, local(2026, 10, 20, 10))
        with mock.patch(
            "tenant_apps.cases.management.commands.run_scheduler.timezone.now",
            return_value=third.yellow_at,
        ):
            call_command("run_scheduler", "--once", "--due-only", stdout=out)
    assert [c.args[0] for c in send.call_args_list] == [tenant.code]


def test_a_clock_that_moves_while_the_job_counts_is_not_lost(people, service, tenant):
    first = _accepted(service, tenant, people, local(2026, 9, 29, 10))
    connection.set_schema_to_public()
    DeadlineWatch.objects.filter(tenant=tenant).update(changes=7)
    # The job read `changes` 7 at its start; an action bumped it (8) before the job wrote.
    real_filter = DeadlineWatch.objects.filter

    def seen_then_bumped(*args, **kwargs):
        seen = real_filter(*args, **kwargs).values_list("changes", flat=True).first()
        DeadlineWatch.objects.all().update(changes=8, next_mark_at=local(2026, 10, 2, 9))
        return mock.Mock(**{"values_list.return_value.first.return_value": seen})

    connection.set_tenant(tenant)
    with mock.patch.object(DeadlineWatch.objects, "filter", side_effect=seen_then_bumped):
        actions.mark_deadlines(at=local(2026, 9, 30, 9))
    connection.set_schema_to_public()
    # Not the job's own figure (the first case's yellow time) but the earlier one.
    assert DeadlineWatch.objects.get(tenant=tenant).next_mark_at == local(2026, 10, 2, 9)
    assert first.yellow_at > local(2026, 10, 2, 9)


def test_a_clock_the_calendar_does_not_cover_alerts_the_operators(
    people, service, tenant, client, caplog
):
    last = clock.covered_years()[1]
    with caplog.at_level("ERROR"):
        case = _accepted(service, tenant, people, local(last, 12, 28, 10))
    assert case.clock_state == ClockState.RUNNING and case.due_at is None and case.clock_error
    assert "does not cover" in caplog.text and str(last + 1) in caplog.text
    # The unit is due at once, and stays due every run while the calendar can't count.
    connection.set_schema_to_public()
    assert units_to_mark(now=local(last, 12, 28, 10, 1)) == [tenant.code]
    caplog.clear()
    connection.set_tenant(tenant)
    with caplog.at_level("ERROR"):
        assert actions.mark_deadlines(at=local(last, 12, 29, 10))["unknown"] == 1
    assert case.number in caplog.text
    connection.set_schema_to_public()
    watch = DeadlineWatch.objects.get(tenant=tenant)
    assert watch.clock_errors == 1 and watch.next_mark_at == local(last, 12, 29, 10)

    caplog.clear()
    with caplog.at_level("ERROR", logger="govplatform.health"):
        body = client.get("/healthz", HTTP_HOST=settings.BASE_DOMAIN).json()
    assert body["case_clocks"] == {"ok": False, "cases_with_clock_error": 1, "units": 1}
    assert body["status"] == "degraded" and "1 running cases in 1 units" in caplog.text


def test_same_day_items_have_a_promised_limit_of_zero(root, tenant, people, client):
    service = publish_service(root, tenant, promised_days=0)
    assert service.promised_days == 0
    guide = client.get(f"/services/{service.code}", HTTP_HOST=host_of(tenant))
    assert guide.status_code == 200 and "即办（即办件）" in guide.content.decode()
    connection.set_tenant(tenant)
    case = _accepted(service, tenant, people, local(2026, 10, 12, 10))
    assert case.due_at == local(2026, 10, 13)  # the end of the day of acceptance
    with at(local(2026, 10, 12, 11)):
        case = actions.decide(
            case, actor=people.approver, decision="approved", legal_basis="《婚姻登记条例》"
        )
    assert case.state == State.DECIDED
    # A negative limit is refused in Chinese.
    item = service.item
    with pytest.raises(ValidationError) as refused:
        catalog.implement_item(
            actor=root,
            tenant=Tenant.objects.get(code="410105000000"),
            department=make_department(Tenant.objects.get(code="410105000000")),
            item=item,
            promised_days=-1,
            place="政务服务中心",
            hours="工作日",
            enquiry_phone="0371-12345",
            complaint_phone="12345",
            online_depth=1,
            material_ids=[],
        )
    assert "promised_days" in refused.value.message_dict
