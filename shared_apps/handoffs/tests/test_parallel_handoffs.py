"""并联审批 across units: a county's case reviewed at once by one of its own departments and by a
department of its city. The city's task goes there by hand-off (relay), its opinion comes back the
same way; a refusal that stops the case cancels the city's task there too."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import ParallelRule
from shared_apps.catalog.tests.conftest import make_department
from shared_apps.handoffs import relay
from shared_apps.handoffs.models import Handoff, Kind, Status
from shared_apps.handoffs.tests.conftest import Staff, publish_item
from tenant_apps.cases import actions, queries
from tenant_apps.cases.models import Case, CaseEvent, ParallelTask, State, TaskState
from tenant_apps.cases.tests.conftest import submitted_case


@pytest.fixture
def staff(root, django_user_model, county, city):
    return Staff(root, django_user_model, [county, city])


def reviewer_of(root, users, unit, department, username):
    user = users.objects.create_user(username)
    accounts.grant_role(
        actor=root, user=user, tenant=unit, role=Role.REVIEWER, department=department
    )
    return user


def across(root, users, county, city, rule):
    """The county's item, reviewed by its planning bureau and the city's environment bureau:
    (implementation, county planner, city environment reviewer)."""
    service = publish_item(root, [county])[county.code]
    planning = make_department(county, name="自然资源和规划局")
    environment = make_department(city, name="市生态环境局")
    connection.set_schema_to_public()
    catalog.set_parallel_review(
        service,
        actor=root,
        tenant=county,
        rule=rule,
        departments=[
            {"tenant": county, "department_id": planning.pk, "department_name": planning.name,
             "days": 5},
            {"tenant": city, "department_id": environment.pk,
             "department_name": environment.name, "days": 8},
        ],
    )  # fmt: skip
    return (
        service,
        reviewer_of(root, users, county, planning, f"x-planner-{rule}"),
        reviewer_of(root, users, city, environment, f"x-env-{rule}"),
    )


def sent(case, kind) -> list[Handoff]:
    connection.set_schema_to_public()
    return list(Handoff.objects.filter(case_public_id=case.public_id, kind=kind))


def task_in(unit, case, department_name) -> ParallelTask:
    connection.set_tenant(unit)
    return ParallelTask.objects.get(case_public_id=case.public_id, department_name=department_name)


def test_a_city_department_reviews_the_countys_case_through_the_relay(
    root, staff, django_user_model, county, city
):
    service, planner, city_reviewer = across(
        root, django_user_model, county, city, ParallelRule.STOP_AT_REFUSAL
    )
    case = submitted_case(service, county, staff.citizen)
    actions.accept(case, actor=staff.of[county.code])

    [task_sent] = sent(case, Kind.PARALLEL_TASK)
    assert (task_sent.from_tenant, task_sent.to_tenant, task_sent.status) == (
        county,
        city,
        Status.PENDING,
    )
    connection.set_tenant(city)
    assert not ParallelTask.objects.filter(case_public_id=case.public_id).exists()
    # The county's mirror of the city's task: the county's staff can't give the city's opinion.
    mirror = task_in(county, case, "市生态环境局")
    with pytest.raises(PermissionDenied):
        actions.complete_task(mirror, actor=staff.of[county.code], decision="approved", opinion="x")

    assert relay.relay() >= 1
    received = task_in(city, case, "市生态环境局")
    assert received.case_id is None and received.requested_by_id == county.pk
    assert received.public_id == mirror.public_id and received.due_at == mirror.due_at
    connection.set_tenant(county)
    # The city reviews the application as it was accepted.
    assert received.form_data == Case.objects.get(pk=case.pk).form_data
    connection.set_tenant(city)
    assert [t.pk for t in queries.department_tasks(city_reviewer, city)] == [received.pk]
    # The relay applies a hand-off once: applying the same row again does nothing.
    connection.set_schema_to_public()
    task_sent.refresh_from_db()
    assert task_sent.status == Status.APPLIED
    connection.set_tenant(city)
    assert actions.receive_handoff(task_sent) is None
    assert ParallelTask.objects.filter(case_public_id=case.public_id).count() == 1

    actions.complete_task(received, actor=city_reviewer, decision="approved", opinion="环评通过")
    [opinion] = sent(case, Kind.PARALLEL_OPINION)
    assert (opinion.from_tenant, opinion.to_tenant) == (city, county)
    assert relay.relay() >= 1
    mirror = task_in(county, case, "市生态环境局")
    assert (mirror.state, mirror.opinion, mirror.handoff_id) == (
        TaskState.APPROVED,
        "环评通过",
        opinion.pk,
    )
    connection.set_tenant(county)
    assert Case.objects.get(pk=case.pk).state == State.PARALLEL_REVIEW  # the planner is left

    actions.complete_task(
        task_in(county, case, "自然资源和规划局"),
        actor=planner,
        decision="approved",
        opinion="符合规划",
    )
    connection.set_tenant(county)
    joined = Case.objects.get(pk=case.pk)
    assert joined.state == State.UNDER_REVIEW
    assert CaseEvent.objects.filter(case=joined, intent="join").count() == 1


def test_a_refusal_here_cancels_the_citys_task_there(root, staff, django_user_model, county, city):
    service, planner, city_reviewer = across(
        root, django_user_model, county, city, ParallelRule.STOP_AT_REFUSAL
    )
    case = submitted_case(service, county, staff.citizen)
    actions.accept(case, actor=staff.of[county.code])
    relay.relay()
    received = task_in(city, case, "市生态环境局")

    actions.complete_task(
        task_in(county, case, "自然资源和规划局"),
        actor=planner,
        decision="refused",
        opinion="不符合控制性详细规划",
    )
    connection.set_tenant(county)
    stopped = Case.objects.get(pk=case.pk)
    assert (stopped.state, stopped.decision) == (State.DECIDED, "refused")
    assert task_in(county, case, "市生态环境局").state == TaskState.CANCELLED
    [cancel] = sent(case, Kind.PARALLEL_CANCEL)
    assert cancel.to_tenant == city
    relay.relay()
    assert task_in(city, case, "市生态环境局").state == TaskState.CANCELLED
    connection.set_tenant(city)
    assert list(queries.department_tasks(city_reviewer, city)) == []
    from tenant_apps.cases import transitions

    with pytest.raises(transitions.CaseConflict):
        actions.complete_task(received, actor=city_reviewer, decision="approved", opinion="同意")


def test_a_refusal_from_the_city_stops_the_countys_case(
    root, staff, django_user_model, county, city
):
    service, _planner, city_reviewer = across(
        root, django_user_model, county, city, ParallelRule.STOP_AT_REFUSAL
    )
    case = submitted_case(service, county, staff.citizen)
    actions.accept(case, actor=staff.of[county.code])
    relay.relay()
    actions.complete_task(
        task_in(city, case, "市生态环境局"),
        actor=city_reviewer,
        decision="refused",
        opinion="位于饮用水水源一级保护区",
    )
    connection.set_tenant(county)
    assert Case.objects.get(pk=case.pk).state == State.PARALLEL_REVIEW  # not before the relay
    relay.relay()
    connection.set_tenant(county)
    stopped = Case.objects.get(pk=case.pk)
    assert (stopped.state, stopped.decision) == (State.DECIDED, "refused")
    assert stopped.decision_reasons == "市生态环境局：位于饮用水水源一级保护区"
    assert task_in(county, case, "自然资源和规划局").state == TaskState.CANCELLED
