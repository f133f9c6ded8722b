"""The legal clock: working days under the official calendar (chinesecalendar), pauses for
corrections and §45 suspensions, a §42 extension, a year the calendar does not cover, and the
deadline job's yellow and red marking."""

from datetime import date, timedelta
from unittest import mock

import chinese_calendar
import pytest
from django.db import connection

from shared_apps.audit.models import AuditEntry
from shared_apps.ledger.models import CaseEventOutbox
from tenant_apps.cases import actions, clock, queries, transitions
from tenant_apps.cases.models import Case, ClockState, DeadlineFlag
from tenant_apps.cases.tests.conftest import local, submitted_case


def at(moment):
    """Run actions as if it were `moment` (local time)."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_the_calendar_lists_national_day_2026_and_its_make_up_working_days():
    """As the package lists them: 1–7 October off, Sunday 20 September and Saturday 10 October
    worked (调休). The clock takes them from the package, never from weekdays."""
    make_up = sorted(d for d in chinese_calendar.workdays if d.year == 2026 and d.month in (9, 10))
    assert make_up == [date(2026, 9, 20), date(2026, 10, 10)]
    assert all(not clock.is_working_day(date(2026, 10, day)) for day in range(1, 8))
    assert all(clock.is_working_day(day) for day in make_up)
    assert clock.is_working_day(date(2026, 10, 8))
    # 30 September + 10 working days: 8, 9, 10 (Saturday, worked), 12–16, 19, 20 October.
    assert clock.add_working_days(date(2026, 9, 30), 10) == date(2026, 10, 20)
    assert clock.working_days_between(date(2026, 9, 30), date(2026, 10, 20)) == 10
    # Counting weekdays instead would have said 14 October.
    assert clock.add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_a_year_the_calendar_does_not_cover_is_an_error_not_a_guess():
    first, last = clock.covered_years()
    with pytest.raises(clock.CalendarNotCovered, match=str(last + 1)) as raised:
        clock.add_working_days(date(last, 12, 30), 5)
    assert "chinesecalendar" in str(raised.value) and "节假日" in str(raised.value)
    with pytest.raises(clock.CalendarNotCovered):
        clock.is_working_day(date(first - 1, 6, 1))


def test_accepting_across_national_day(people, service, tenant):
    with at(local(2026, 9, 29, 10)):
        case = submitted_case(service, tenant, people.citizen)
    with at(local(2026, 9, 30, 15)):
        case = actions.accept(case, actor=people.clerk)
    assert case.clock_state == ClockState.RUNNING
    assert case.due_at == local(2026, 10, 21)  # the end of 20 October
    # Statutory 20 days: those 10, then 21–23 and 26–30 October, 2 and 3 November.
    assert case.statutory_due_at == local(2026, 11, 4)
    # Yellow from 80 % of 10 days: after the 8th working day, 16 October.
    assert case.yellow_at == local(2026, 10, 17)


def test_corrections_and_a_suspension_pause_the_clock_and_an_extension_adds_to_it(
    people, service, tenant
):
    with at(local(2026, 9, 18, 9)):  # Friday
        case = submitted_case(service, tenant, people.citizen)
        case = actions.accept(case, actor=people.clerk)
        case = actions.start_review(case, actor=people.reviewer)
    with at(local(2026, 9, 22, 16)):  # used: 20 (Sunday, worked), 21, 22 September
        case = actions.request_corrections(case, actor=people.reviewer, items=["平面图不清晰"])
    assert (case.clock_state, case.clock_days_used, case.due_at) == (ClockState.PAUSED, 3, None)
    with at(local(2026, 10, 9, 10)):  # the days in between don't count
        case = actions.resubmit(case, actor=people.citizen)
    assert case.state == "under_review" and case.clock_state == ClockState.RUNNING
    # 7 left after 9 October: 10 (Saturday, worked), 12, 13, 14, 15, 16, 19.
    assert case.due_at == local(2026, 10, 20)
    with at(local(2026, 10, 13, 11)):  # used 3 + 10, 12, 13 October = 6
        case = actions.suspend(
            case, actor=people.approver, ground="expert_review", reason="组织专家评审"
        )
    assert (case.clock_state, case.clock_days_used) == (ClockState.PAUSED, 6)
    with at(local(2026, 10, 20, 9)):
        case = actions.resume(case, actor=people.approver)
    # 4 left after 20 October: 21, 22, 23, 26.
    assert case.due_at == local(2026, 10, 27)
    with at(local(2026, 10, 21, 9)):
        case = actions.extend(case, actor=people.head, reason="需现场核查")
    # 14 left of 20 after 20 October: 21–23, 26–30 October, 2–6 and 9 November.
    assert case.due_at == local(2026, 11, 10)
    assert case.statutory_due_at == clock.end_of(clock.add_working_days(date(2026, 10, 20), 24))
    with at(local(2026, 10, 23, 9)):
        case = actions.decide(
            case, actor=people.approver, decision="approved", legal_basis="《食品安全法》"
        )
    assert case.clock_state == ClockState.STOPPED and case.due_at is None
    assert case.clock_days_used == 6 + 3  # 21, 22, 23 October
    # Every change of the clock went to the ledger with its snapshot.
    connection.set_schema_to_public()
    events = CaseEventOutbox.objects.filter(case_public_id=case.public_id).order_by("id")
    assert [e.event for e in events] == [
        "submit",
        "accept",
        "start_review",
        "request_corrections",
        "resubmit",
        "suspend",
        "resume",
        "extend",
        "decide",
    ]
    assert events.get(event="extend").clock["due_at"] == local(2026, 11, 10).isoformat()


def test_a_due_date_in_a_year_not_covered_is_left_unknown_and_alerts(
    people, service, tenant, caplog
):
    last = clock.covered_years()[1]
    with at(local(last, 12, 28, 10)):
        case = submitted_case(service, tenant, people.citizen)
        case = actions.accept(case, actor=people.clerk)  # the acceptance itself stands
    assert case.clock_state == ClockState.RUNNING and case.due_at is None
    assert str(last + 1) in case.clock_error
    connection.set_tenant(tenant)
    assert queries.staff_cases(queue="clock_unknown").filter(pk=case.pk).exists()
    with caplog.at_level("ERROR", logger="tenant_apps.cases.actions"):
        counts = actions.mark_deadlines(at=local(last, 12, 30, 10))
    assert counts["unknown"] == 1
    assert case.number in caplog.text and str(last + 1) in caplog.text
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert case.due_at is None and case.deadline_flag == DeadlineFlag.NONE


def test_the_deadline_job_marks_yellow_then_red_once_each(people, service, tenant):
    with at(local(2026, 9, 29, 10)):
        case = submitted_case(service, tenant, people.citizen)
    with at(local(2026, 9, 30, 15)):
        case = actions.accept(case, actor=people.clerk)
    connection.set_schema_to_public()
    audited = AuditEntry.objects.count()
    connection.set_tenant(tenant)
    assert actions.mark_deadlines(at=local(2026, 10, 16, 23, 59)) == {
        "yellow": 0,
        "red": 0,
        "unknown": 0,
    }
    connection.set_tenant(tenant)
    assert actions.mark_deadlines(at=local(2026, 10, 17, 9))["yellow"] == 1
    connection.set_tenant(tenant)
    assert actions.mark_deadlines(at=local(2026, 10, 19, 9))["yellow"] == 0  # marked already
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).deadline_flag == DeadlineFlag.YELLOW
    assert list(queries.staff_cases(queue="yellow").values_list("pk", flat=True)) == [case.pk]
    connection.set_tenant(tenant)
    assert actions.mark_deadlines(at=local(2026, 10, 21) + timedelta(seconds=1))["red"] == 1
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).deadline_flag == DeadlineFlag.RED
    connection.set_schema_to_public()
    marked = CaseEventOutbox.objects.filter(case_public_id=case.public_id, notify_staff=True)
    assert sorted(marked.values_list("event", flat=True)) == ["deadline.red", "deadline.yellow"]
    # Only runs that marked something are audited.
    assert list(
        AuditEntry.objects.filter(id__gt=0).order_by("-id")[:3].values_list("action", flat=True)
    )[:2] == ["cases.deadlines_marked", "cases.deadlines_marked"]
    assert AuditEntry.objects.count() == audited + 2
    # A paused case is never marked; an extension that gives time back clears the flag.
    connection.set_tenant(tenant)
    with at(local(2026, 10, 21, 10)):
        case = actions.start_review(Case.objects.get(pk=case.pk), actor=people.reviewer)
        case = actions.extend(case, actor=people.head, reason="需补充检验")
    assert case.deadline_flag == DeadlineFlag.NONE and case.due_at > local(2026, 10, 21, 10)


def test_a_pause_waits_for_the_calendar_but_a_decision_does_not(people, service, tenant):
    last = clock.covered_years()[1]
    with at(local(last, 12, 28, 10)):
        case = submitted_case(service, tenant, people.citizen)
        case = actions.accept(case, actor=people.clerk)
        case = actions.start_review(case, actor=people.reviewer)
    with at(local(last + 1, 1, 5, 10)), pytest.raises(transitions.CaseConflict) as refused:
        actions.suspend(case, actor=people.reviewer, ground="testing", reason="送检")
    assert str(last + 1) in refused.value.detail
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert case.state == "under_review"
    with at(local(last + 1, 1, 5, 11)):
        case = actions.decide(
            case, actor=people.approver, decision="approved", legal_basis="《食品安全法》"
        )
    assert case.clock_state == ClockState.STOPPED and str(last + 1) in case.clock_error
