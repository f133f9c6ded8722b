"""The rectification loop (差评整改, issue 14 item 2): a rating of 4 or 5 opens a task; verify within
RATING_VERIFY_DAYS working days, rectify and report back within RATING_RECTIFY_DAYS; the citizen
answers; overdue steps turn yellow, then red, in one sweep that counts them for supervision; an
appeal is decided by a supervisor of the unit above only."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.ratings import actions
from shared_apps.ratings.models import ItemRatingCount, Rectification, Step, UnitRatingCount
from tenant_apps.cases import clock
from tenant_apps.cases.tests.conftest import case_in, local


def bad_rating(people, service, tenant, level=5):
    case = case_in("delivered", service, tenant, people.citizen)
    return actions.rate(case, actor=people.citizen, level=level, comment="推诿", channel="pc")


@pytest.fixture
def handler(people):
    return people.staff("rect-admin", Role.TENANT_ADMIN)


def test_only_bad_ratings_open_a_task_due_in_working_days(people, service, tenant, settings):
    settings.RATING_VERIFY_DAYS = 1
    for level in (1, 2, 3):
        good = actions.rate(
            case_in("delivered", service, tenant, people.citizen),
            actor=people.citizen,
            level=level,
            channel="pc",
        )
        assert not Rectification.objects.filter(rating=good).exists()
    rating = bad_rating(people, service, tenant, level=4)
    task = rating.rectification
    assert task.step == Step.VERIFY and task.tenant_id == tenant.id
    expected = clock.end_of(clock.add_working_days(clock.local_day(rating.at), 1))
    assert task.due_at == expected and rating.at < task.yellow_at < task.due_at
    counts = ItemRatingCount.objects.get(tenant=tenant, implementation_code=service.code)
    assert counts.rectifications == 1 and counts.level_4 == 1


def test_a_friday_rating_is_verified_by_monday(people, service, tenant):
    # 2026-11-27 is a Friday; the next working day is Monday 2026-11-30.
    due, yellow = actions._deadline(local(2026, 11, 27, 16, 0), 1)
    assert due == local(2026, 12, 1, 0, 0) and yellow > local(2026, 11, 30, 0, 0)


def test_the_loop_verify_rectify_report_back_and_the_citizen_confirms(
    people, service, tenant, handler, settings
):
    settings.RATING_RECTIFY_DAYS = 15
    task = bad_rating(people, service, tenant).rectification
    with pytest.raises(PermissionDenied):  # a clerk does not work rectifications
        actions.verify(task, actor=people.clerk, findings="已电话联系")
    with pytest.raises(ValidationError):
        actions.verify(task, actor=handler, findings="")
    with pytest.raises(actions.RatingConflict):  # no report before verifying
        actions.report_back(task, actor=handler, measures="x", report="y")
    task = actions.verify(task, actor=handler, findings="已电话联系申请人，情况属实")
    assert task.step == Step.RECTIFY and task.verified_at is not None
    assert task.due_at == clock.end_of(
        clock.add_working_days(clock.local_day(task.verified_at), 15)
    )
    with pytest.raises(actions.RatingConflict):  # nothing reported yet
        actions.answer_report(task, actor=people.citizen, confirmed=True)
    task = actions.report_back(
        task, actor=handler, measures="窗口人员培训", report="已对窗口人员进行培训，感谢监督。"
    )
    assert (task.step, task.on_time) == (Step.REPORTED, True)
    with pytest.raises(PermissionDenied):
        actions.answer_report(task, actor=people.other_citizen, confirmed=True)
    task = actions.answer_report(task, actor=people.citizen, confirmed=True, comment="满意")
    assert (task.step, task.confirmed) == (Step.CLOSED, True)
    counts = UnitRatingCount.objects.get(tenant=tenant)
    item = ItemRatingCount.objects.get(tenant=tenant, implementation_code=service.code)
    assert (item.rectifications, item.rectified, item.rectified_on_time) == (1, 1, 1)
    assert counts.rectified >= 1
    actions_written = list(
        AuditEntry.objects.filter(target=task.rating.case_number)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions_written == [
        "ratings.rate",
        "ratings.verify",
        "ratings.report_back",
        "ratings.answer_report",
    ]


def test_a_late_report_back_is_counted_late(people, service, tenant, handler):
    task = actions.verify(
        bad_rating(people, service, tenant).rectification, actor=handler, findings="核实"
    )
    Rectification.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(hours=1))
    task = actions.report_back(task, actor=handler, measures="整改", report="已整改")
    assert task.on_time is False
    item = ItemRatingCount.objects.get(tenant=tenant, implementation_code=service.code)
    assert (item.rectified, item.rectified_on_time) == (1, 0)


def test_overdue_steps_turn_yellow_then_red_and_are_counted(people, service, tenant, handler):
    task = bad_rating(people, service, tenant).rectification
    done = actions.verify(
        bad_rating(people, service, tenant).rectification, actor=handler, findings="核实"
    )
    actions.report_back(done, actor=handler, measures="整改", report="已整改")
    before = UnitRatingCount.objects.get(tenant=tenant)
    # Before the yellow time: nothing of this task marked.
    actions.mark_rectification_deadlines(at=task.opened_at)
    task.refresh_from_db()
    assert task.flag == ""
    yellow = actions.mark_rectification_deadlines(at=task.yellow_at)
    task.refresh_from_db()
    assert task.flag == "yellow" and yellow["yellow"] >= 1
    again = actions.mark_rectification_deadlines(at=task.yellow_at)
    assert again["yellow"] == 0 or again["yellow"] < yellow["yellow"]  # marked once
    actions.mark_rectification_deadlines(at=task.due_at)
    task.refresh_from_db()
    assert task.flag == "red"
    after = UnitRatingCount.objects.get(tenant=tenant)
    assert after.rectifications_yellow - before.rectifications_yellow >= 1
    assert after.rectifications_red - before.rectifications_red >= 1
    entry = AuditEntry.objects.filter(action="ratings.deadlines_marked").order_by("-id").first()
    assert entry.tenant_code == "" and entry.data["red"] >= 1
    # A task reported back is never marked.
    done.refresh_from_db()
    assert done.flag == "" and done.step == Step.REPORTED
    # Verifying starts the next step with a fresh flag.
    task = actions.verify(task, actor=handler, findings="已联系")
    assert task.flag == "" and task.due_at > timezone.now()


def test_an_appeal_is_decided_by_a_supervisor_of_the_unit_above_only(
    people, service, tenant, handler, other_tenant
):
    task = bad_rating(people, service, tenant).rectification
    with pytest.raises(ValidationError):
        actions.appeal(task, actor=handler, reason="")
    task = actions.appeal(task, actor=handler, reason="同一人多次恶意差评")
    assert (task.step, task.appealed_from) == (Step.APPEALED, Step.VERIFY)
    with pytest.raises(actions.RatingConflict):
        actions.verify(task, actor=handler, findings="x")
    parent = tenant.parent
    own_supervisor = people.staff("rect-own-supervisor", Role.SUPERVISOR)
    elsewhere = people.staff(
        "rect-elsewhere-supervisor", Role.SUPERVISOR, tenant=other_tenant.parent
    )
    parent_admin = people.staff("rect-parent-admin", Role.TENANT_ADMIN, tenant=parent)
    for who in (own_supervisor, elsewhere, parent_admin, handler, people.citizen):
        with pytest.raises(PermissionDenied):
            actions.decide_appeal(task, actor=who, upheld=True, reason="恶意")
    above = people.users.objects.create_user("rect-parent-supervisor")
    accounts.grant_role(actor=people.root, user=above, tenant=parent, role=Role.SUPERVISOR)
    refused = actions.decide_appeal(task, actor=above, upheld=False, reason="证据不足")
    assert (refused.step, refused.appeal_upheld) == (Step.VERIFY, False)
    task = actions.appeal(refused, actor=handler, reason="补充证据：录音")
    before = UnitRatingCount.objects.get(tenant=tenant).appeals_upheld
    upheld = actions.decide_appeal(task, actor=above, upheld=True, reason="录音证实恶意")
    assert (upheld.step, upheld.appeal_upheld, upheld.appeal_decided_by_id) == (
        Step.CLOSED,
        True,
        above.pk,
    )
    assert UnitRatingCount.objects.get(tenant=tenant).appeals_upheld == before + 1
    entry = AuditEntry.objects.filter(action="ratings.decide_appeal").order_by("-id").first()
    assert entry.tenant_code == tenant.code and entry.data["upheld"] is True
