"""并联审批 in one unit: one acceptance, a task per department on its own clock, joined when all
are in, or stopped by the first refusal when the item says so; who may give which opinion; the
same opinion sent twice; two departments finishing at the same moment."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import ParallelRule
from shared_apps.catalog.tests.conftest import make_department
from shared_apps.ledger.models import CaseEventOutbox
from tenant_apps.cases import actions, queries, transitions
from tenant_apps.cases.models import Case, CaseEvent, ParallelTask, State, TaskState
from tenant_apps.cases.tests.conftest import publish_service, submitted_case

DEPARTMENTS = ("自然资源和规划局", "生态环境分局", "住房和城乡建设局")


def parallel_service(root, tenant, rule, names=DEPARTMENTS[:2], days=5):
    """An item whose implementation here is reviewed in parallel by the named departments of
    this unit: (the implementation, {name: department})."""
    service = publish_service(root, tenant)
    departments = {name: make_department(tenant, name=name) for name in names}
    connection.set_schema_to_public()
    catalog.set_parallel_review(
        service,
        actor=root,
        tenant=tenant,
        rule=rule,
        departments=[
            {"tenant": tenant, "department_id": d.pk, "department_name": name, "days": days}
            for name, d in departments.items()
        ],
    )
    return service, departments


def department_staff(people, tenant, department, username, role=Role.REVIEWER):
    user = people.users.objects.create_user(username)
    accounts.grant_role(
        actor=people.root, user=user, tenant=tenant, role=role, department=department
    )
    return user


def accepted(service, tenant, people) -> Case:
    case = submitted_case(service, tenant, people.citizen)
    return actions.accept(case, actor=people.clerk)


def tasks_of(case, tenant) -> dict[str, ParallelTask]:
    connection.set_tenant(tenant)
    return {t.department_name: t for t in ParallelTask.objects.filter(case=case)}


def intents(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("intent", flat=True))


def test_parallel_approval_joined_when_every_department_approved(root, people, tenant):
    service, departments = parallel_service(root, tenant, ParallelRule.STOP_AT_REFUSAL)
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "p-planner")
    environment = department_staff(people, tenant, departments[DEPARTMENTS[1]], "p-env")

    case = accepted(service, tenant, people)
    assert case.state == State.PARALLEL_REVIEW
    tasks = tasks_of(case, tenant)
    assert sorted(tasks) == sorted(DEPARTMENTS[:2])
    for task in tasks.values():
        # Each on its own clock: five working days from acceptance.
        assert task.state == TaskState.PENDING and task.due_at is not None
        assert task.due_at > case.accepted_at
    # Each department's queue holds its own task only.
    assert [t.pk for t in queries.department_tasks(planning, tenant)] == [tasks[DEPARTMENTS[0]].pk]

    actions.complete_task(
        tasks[DEPARTMENTS[0]], actor=planning, decision="approved", opinion="符合规划条件"
    )
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.PARALLEL_REVIEW  # one department still to give its opinion

    actions.complete_task(
        tasks[DEPARTMENTS[1]], actor=environment, decision="approved", opinion="环评已批复"
    )
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.UNDER_REVIEW
    assert intents(case)[-4:] == ["submit", "accept", "start_parallel", "join"]
    join = CaseEvent.objects.get(case=case, intent="join")
    assert join.details["approved"] == 2 and join.actor == transitions.PARALLEL_ACTOR
    assert [(t.state, t.opinion) for t in queries.case_tasks(case)] == [
        (TaskState.APPROVED, "符合规划条件"),
        (TaskState.APPROVED, "环评已批复"),
    ]
    # The supervision ledger sees the start, each opinion and the join.
    connection.set_schema_to_public()
    events = list(
        CaseEventOutbox.objects.filter(case_public_id=case.public_id)
        .order_by("id")
        .values_list("event", flat=True)
    )
    assert events[-4:] == [
        "start_parallel",
        "parallel_task.approved",
        "parallel_task.approved",
        "join",
    ]
    # The lead department (the item's own) decides with every opinion in.
    connection.set_tenant(tenant)
    decided = actions.decide(
        case, actor=people.approver, decision="approved", legal_basis="《城乡规划法》第四十条"
    )
    assert decided.state == State.DECIDED


def test_collecting_all_opinions_a_refusal_does_not_stop_the_case(root, people, tenant):
    service, departments = parallel_service(root, tenant, ParallelRule.COLLECT_ALL)
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "c-planner")
    environment = department_staff(people, tenant, departments[DEPARTMENTS[1]], "c-env")
    case = accepted(service, tenant, people)
    tasks = tasks_of(case, tenant)

    actions.complete_task(
        tasks[DEPARTMENTS[1]], actor=environment, decision="refused", opinion="位于水源保护区"
    )
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.PARALLEL_REVIEW
    actions.complete_task(
        tasks[DEPARTMENTS[0]], actor=planning, decision="approved", opinion="符合规划"
    )
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.UNDER_REVIEW and case.decision == ""
    join = CaseEvent.objects.get(case=case, intent="join")
    assert (join.details["approved"], join.details["refused"]) == (1, 1)


def test_parallel_approval_stopped_by_the_first_refusal(root, people, tenant):
    service, departments = parallel_service(
        root, tenant, ParallelRule.STOP_AT_REFUSAL, names=DEPARTMENTS
    )
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "s-planner")
    environment = department_staff(people, tenant, departments[DEPARTMENTS[1]], "s-env")
    case = accepted(service, tenant, people)
    tasks = tasks_of(case, tenant)
    actions.complete_task(
        tasks[DEPARTMENTS[0]], actor=planning, decision="approved", opinion="符合规划"
    )

    actions.complete_task(
        tasks[DEPARTMENTS[1]], actor=environment, decision="refused", opinion="位于水源保护区"
    )
    connection.set_tenant(tenant)
    case.refresh_from_db()
    assert (case.state, case.decision) == (State.DECIDED, "refused")
    assert case.decision_reasons == f"{DEPARTMENTS[1]}：位于水源保护区"
    assert case.clock_state == "stopped"
    assert {name: t.state for name, t in tasks_of(case, tenant).items()} == {
        DEPARTMENTS[0]: TaskState.APPROVED,
        DEPARTMENTS[1]: TaskState.REFUSED,
        DEPARTMENTS[2]: TaskState.CANCELLED,
    }
    assert intents(case).count("stop_parallel") == 1 and "join" not in intents(case)
    # The cancelled task takes no opinion any more.
    building = department_staff(people, tenant, departments[DEPARTMENTS[2]], "s-building")
    with pytest.raises(transitions.CaseConflict):
        actions.complete_task(
            tasks[DEPARTMENTS[2]], actor=building, decision="approved", opinion="同意"
        )
    connection.set_schema_to_public()
    assert CaseEventOutbox.objects.get(
        case_public_id=case.public_id, event="stop_parallel"
    ).notify_applicant


def test_only_the_departments_own_staff_give_its_opinion(root, people, tenant, other_tenant):
    service, departments = parallel_service(root, tenant, ParallelRule.STOP_AT_REFUSAL)
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "a-planner")
    case = accepted(service, tenant, people)
    tasks = tasks_of(case, tenant)
    environment_task = tasks[DEPARTMENTS[1]]

    # Another department's staff, the unit's reviewer and approver without a department, the
    # window clerk and the applicant: none gives the environment department's opinion.
    for someone in (planning, people.reviewer, people.approver, people.clerk, people.citizen):
        with pytest.raises(PermissionDenied):
            actions.complete_task(
                environment_task, actor=someone, decision="approved", opinion="同意"
            )
    # Staff of the same department's namesake in another unit: the task is not found there, and
    # nothing they hold here lets them act on it.
    other_unit_department = make_department(other_tenant, name=DEPARTMENTS[1])
    outsider = department_staff(people, other_tenant, other_unit_department, "a-outsider")
    connection.set_tenant(other_tenant)
    assert queries.find_task(environment_task.public_id) is None
    assert list(queries.department_tasks(outsider, other_tenant)) == []
    connection.set_tenant(tenant)
    with pytest.raises(PermissionDenied):
        actions.complete_task(environment_task, actor=outsider, decision="approved", opinion="x")
    connection.set_tenant(tenant)
    environment_task.refresh_from_db()
    assert environment_task.state == TaskState.PENDING
    # A refusal names its reasons; NUL bytes and over-long text are refused, nothing written.
    environment = department_staff(people, tenant, departments[DEPARTMENTS[1]], "a-env")
    for decision, opinion in (("refused", ""), ("approved", "a\x00b"), ("approved", "长" * 2001)):
        with pytest.raises(ValidationError):
            actions.complete_task(
                environment_task, actor=environment, decision=decision, opinion=opinion
            )
    with pytest.raises(ValidationError):
        actions.complete_task(environment_task, actor=environment, decision="maybe", opinion="x")
    connection.set_tenant(tenant)
    environment_task.refresh_from_db()
    assert environment_task.state == TaskState.PENDING


def test_the_same_opinion_sent_twice_is_given_once(root, people, tenant):
    service, departments = parallel_service(root, tenant, ParallelRule.STOP_AT_REFUSAL)
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "i-planner")
    case = accepted(service, tenant, people)
    task = tasks_of(case, tenant)[DEPARTMENTS[0]]
    connection.set_schema_to_public()
    before = AuditEntry.objects.filter(action="cases.complete_task").count()

    for _ in range(2):
        connection.set_tenant(tenant)
        done = actions.complete_task(task, actor=planning, decision="approved", opinion="同意")
        assert done.state == TaskState.APPROVED
    connection.set_schema_to_public()
    assert AuditEntry.objects.filter(action="cases.complete_task").count() == before + 1
    assert (
        CaseEventOutbox.objects.filter(
            case_public_id=case.public_id, event="parallel_task.approved"
        ).count()
        == 1
    )
    # Another opinion on the finished task is a conflict, not a change.
    connection.set_tenant(tenant)
    with pytest.raises(transitions.CaseConflict):
        actions.complete_task(task, actor=planning, decision="refused", opinion="不同意")


def test_an_item_without_parallel_review_is_accepted_as_before(people, service, tenant):
    case = accepted(service, tenant, people)
    assert case.state == State.ACCEPTED
    assert not ParallelTask.objects.filter(case=case).exists()


def test_the_parallel_review_is_declared_by_the_units_administrator(
    root, people, tenant, other_tenant
):
    service = publish_service(root, tenant)
    department = make_department(tenant, name="规划局")
    elsewhere = make_department(other_tenant, name="规划局")
    connection.set_schema_to_public()

    def declare(actor=root, **entry):
        given = {"tenant": tenant, "department_id": department.pk, "department_name": "规划局"}
        return catalog.set_parallel_review(
            service,
            actor=actor,
            tenant=tenant,
            rule=ParallelRule.COLLECT_ALL,
            departments=[{**given, "days": 5, **entry}],
        )

    with pytest.raises(PermissionDenied):
        declare(actor=people.clerk)
    # A county of another city is neither above nor below this one.
    with pytest.raises(ValidationError):
        declare(tenant=other_tenant, department_id=elsewhere.pk)
    with pytest.raises(ValidationError):
        declare(department_id=2**40)  # not a department of this unit
    with pytest.raises(ValidationError):
        declare(days=0)
    with pytest.raises(ValidationError):
        declare(days=21)  # beyond the statutory 20 days
    with pytest.raises(ValidationError):
        declare(department_name="规\x00划")
    review = declare()
    assert [(d.department_name, d.days) for d in review.departments.all()] == [("规划局", 5)]
    assert (
        catalog.set_parallel_review(service, actor=root, tenant=tenant, rule="", departments=[])
        is None
    )
    assert not type(review).objects.filter(pk=review.pk).exists()


def _committed_parallel_case():
    """Committed (for the race below): a case accepted into parallel review by two departments,
    and a reviewer of each."""
    import uuid

    from django.contrib.auth import get_user_model

    from tenants.models import Tenant

    users = get_user_model()
    suffix = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.get(code="410102000000")
    root = users.objects.create_superuser(f"race-root-{suffix}")
    clerk = users.objects.create_user(f"race-clerk-{suffix}")
    accounts.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
    citizen = users.objects.create_user(f"race-citizen-{suffix}")
    service, departments = parallel_service(root, tenant, ParallelRule.COLLECT_ALL)
    reviewers = {}
    for name, department in departments.items():
        reviewers[name] = users.objects.create_user(f"race-{department.pk}-{suffix}")
        accounts.grant_role(
            actor=root,
            user=reviewers[name],
            tenant=tenant,
            role=Role.REVIEWER,
            department=department,
        )
    case = actions.accept(submitted_case(service, tenant, citizen), actor=clerk)
    tasks = tasks_of(case, tenant)
    return tenant, case, [(tasks[name], reviewer) for name, reviewer in reviewers.items()]


@pytest.mark.django_db
def test_two_departments_finishing_at_once_move_the_case_on_once(django_db_blocker):
    """Each department's reviewer completes the last two tasks at the same moment, in their own
    committed transactions: the case joins exactly once (see test_races.py for the harness)."""
    from tenant_apps.cases.tests.test_races import _committed, _race

    tenant, case, work = _committed(django_db_blocker, _committed_parallel_case)

    def complete(task, reviewer):
        def job():
            connection.set_tenant(tenant)
            done = actions.complete_task(task, actor=reviewer, decision="approved", opinion="同意")
            return ("done", done.state)

        return job

    outcomes = _race(django_db_blocker, [complete(*pair) for pair in work])
    assert outcomes == [("done", TaskState.APPROVED)] * 2

    def read():
        connection.set_tenant(tenant)
        return Case.objects.get(pk=case.pk).state, intents(case).count("join")

    assert _committed(django_db_blocker, read) == (State.UNDER_REVIEW, 1)


def test_the_department_approves_through_the_api_once_per_key(
    client, root, people, tenant, other_tenant
):
    import json

    from conftest import sign_in_with_second_factor
    from tests.helpers import host_of

    service, departments = parallel_service(root, tenant, ParallelRule.STOP_AT_REFUSAL)
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "api-planner")
    case = accepted(service, tenant, people)
    task = tasks_of(case, tenant)[DEPARTMENTS[0]]
    environment_task = tasks_of(case, tenant)[DEPARTMENTS[1]]
    host = host_of(tenant)

    def post(path, body, host=host, **headers):
        return client.post(
            path, json.dumps(body), content_type="application/json", HTTP_HOST=host, **headers
        )

    sign_in_with_second_factor(client, planning)
    mine = client.get("/api/v1/tasks", HTTP_HOST=host).json()
    assert [t["id"] for t in mine["items"]] == [str(task.public_id)]
    assert mine["items"][0]["department_name"] == DEPARTMENTS[0]
    # Not the other department's task; bounded, Chinese errors; another unit's host: not found.
    denied = post(f"/api/v1/tasks/{environment_task.public_id}/approve", {"opinion": "同意"})
    assert denied.status_code == 403 and denied.json()["detail"]
    too_long = post(f"/api/v1/tasks/{task.public_id}/refuse", {"opinion": "长" * 2001})
    assert too_long.status_code == 422
    nul = post(f"/api/v1/tasks/{task.public_id}/refuse", {"opinion": "不\x00同意"})
    # The API's parser refuses NUL for every endpoint (400, in Chinese), before any action.
    assert nul.status_code == 400 and nul.json()["detail"]
    elsewhere = post(
        f"/api/v1/tasks/{task.public_id}/approve", {"opinion": "同意"}, host=host_of(other_tenant)
    )
    assert elsewhere.status_code in (403, 404)
    connection.set_tenant(tenant)
    task.refresh_from_db()
    assert task.state == TaskState.PENDING

    path = f"/api/v1/tasks/{task.public_id}/approve"
    first = post(path, {"opinion": "符合规划"}, HTTP_IDEMPOTENCY_KEY="task-approve-1")
    again = post(path, {"opinion": "符合规划"}, HTTP_IDEMPOTENCY_KEY="task-approve-1")
    assert first.status_code == again.status_code == 200, first.content
    assert first.json() == again.json() and first.json()["state"] == "approved"
    other = post(path, {"opinion": "另一意见"}, HTTP_IDEMPOTENCY_KEY="task-approve-1")
    assert other.status_code == 409
    connection.set_schema_to_public()
    assert AuditEntry.objects.filter(action="cases.complete_task", target=case.number).count() == 1

    # The lead department's staff read every task and opinion of the case.
    sign_in_with_second_factor(client, people.approver)
    listed = client.get(f"/api/v1/cases/{case.public_id}/tasks", HTTP_HOST=host).json()
    assert [(t["department_name"], t["state"], t["opinion"]) for t in listed] == [
        (DEPARTMENTS[0], "approved", "符合规划"),
        (DEPARTMENTS[1], "pending", ""),
    ]
    assert client.get(
        f"/api/v1/cases/{case.public_id}/tasks", HTTP_HOST=host_of(other_tenant)
    ).status_code in (403, 404)


def test_the_departments_queue_and_opinion_form_on_the_workbench(
    client, root, people, tenant, other_tenant
):
    import uuid

    from conftest import sign_in_with_second_factor
    from tests.helpers import host_of

    service, departments = parallel_service(root, tenant, ParallelRule.STOP_AT_REFUSAL)
    planning = department_staff(people, tenant, departments[DEPARTMENTS[0]], "w-planner")
    environment = department_staff(people, tenant, departments[DEPARTMENTS[1]], "w-env")
    case = accepted(service, tenant, people)
    tasks = tasks_of(case, tenant)
    task = tasks[DEPARTMENTS[0]]
    host = host_of(tenant)

    sign_in_with_second_factor(client, planning)
    queue = client.get("/workbench/tasks", HTTP_HOST=host).content.decode()
    assert str(task.public_id) in queue and str(tasks[DEPARTMENTS[1]].public_id) not in queue
    page = client.get(f"/workbench/tasks/{task.public_id}", HTTP_HOST=host).content.decode()
    assert 'id="form-opinion"' in page and "老王烩面馆" in page
    # Another unit's host does not find the task.
    assert client.get(
        f"/workbench/tasks/{task.public_id}", HTTP_HOST=host_of(other_tenant)
    ).status_code in (403, 404)
    key = str(uuid.uuid4())
    fields = {"idempotency_key": key, "decision": "approved", "opinion": "符合规划"}
    path = f"/workbench/tasks/{task.public_id}/opinion"
    first = client.post(path, fields, HTTP_HOST=host)
    again = client.post(path, fields, HTTP_HOST=host)  # a double click
    assert first.status_code == again.status_code == 302
    connection.set_tenant(tenant)
    task.refresh_from_db()
    assert (task.state, task.opinion) == (TaskState.APPROVED, "符合规划")
    connection.set_schema_to_public()
    assert AuditEntry.objects.filter(action="cases.complete_task", target=case.number).count() == 1

    # The other department's form is not this reviewer's to send.
    other = tasks[DEPARTMENTS[1]]
    refused = client.post(
        f"/workbench/tasks/{other.public_id}/opinion",
        {"idempotency_key": str(uuid.uuid4()), "decision": "approved", "opinion": "同意"},
        HTTP_HOST=host,
    )
    assert refused.status_code == 403 and "只有生态环境分局的工作人员" in refused.content.decode()
    # Over-long and empty opinions come back with the form, nothing written.
    client.force_login(environment)
    sign_in_with_second_factor(client, environment)
    for opinion in ("", "长" * 2001):
        bad = client.post(
            f"/workbench/tasks/{other.public_id}/opinion",
            {"idempotency_key": str(uuid.uuid4()), "decision": "refused", "opinion": opinion},
            HTTP_HOST=host,
        )
        assert bad.status_code == 400
    connection.set_tenant(tenant)
    other.refresh_from_db()
    assert other.state == TaskState.PENDING

    # The lead department's case page shows every task, its state, clock and opinion.
    sign_in_with_second_factor(client, people.approver)
    case_page = client.get(f"/workbench/cases/{case.public_id}", HTTP_HOST=host).content.decode()
    assert 'id="parallel"' in case_page and "并联审批中" in case_page and "待处理" in case_page
    assert "符合规划" in case_page and DEPARTMENTS[1] in case_page
    assert 'data-state="approved"' in case_page and 'data-state="pending"' in case_page
    # … and follows the case in its "in parallel review" queue meanwhile.
    queue = client.get(
        "/workbench/", {"queue": "parallel", "item": service.pk}, HTTP_HOST=host
    ).content.decode()
    assert case.number in queue


def test_the_administrator_sets_the_parallel_review_through_the_api(
    client, root, people, tenant, other_tenant
):
    import json

    from conftest import sign_in_with_second_factor
    from tests.helpers import host_of

    service = publish_service(root, tenant)
    department = make_department(tenant, name="规划局")
    admin = people.staff("p-admin", Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    path = f"/api/v1/services/{service.code}/parallel-review"
    body = {
        "rule": "stop_at_refusal",
        "departments": [
            {
                "unit_code": tenant.code,
                "department_id": department.pk,
                "department_name": "规划局",
                "days": 5,
            }
        ],
    }

    def put(body, host=None):
        return client.put(
            path,
            json.dumps(body),
            content_type="application/json",
            HTTP_HOST=host or host_of(tenant),
        )

    done = put(body)
    assert done.status_code == 200, done.content
    assert done.json() == body
    # Another unit's host does not find this unit's service; a far unit can't take part.
    assert put(body, host=host_of(other_tenant)).status_code in (403, 404)
    far = {**body, "departments": [{**body["departments"][0], "unit_code": other_tenant.code}]}
    assert put(far).status_code == 422
    assert put({"rule": "", "departments": []}).json() == {"rule": "", "departments": []}
    # A window clerk is not the administrator.
    sign_in_with_second_factor(client, people.clerk)
    assert put(body).status_code == 403
