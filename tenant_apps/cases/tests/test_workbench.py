"""The staff workbench (工作台) on a unit's subdomain: queues, filters and paging, the case page
with the forms each role may use, every intent through the page, double clicks, a lost race,
another unit's staff, hall-window registration and bad input."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.accounts.identity import id_number_digest, mask_id_number
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.catalog.models import ImplementationMaterial
from shared_apps.ledger.models import IntentKey
from tenant_apps.cases import actions, queries
from tenant_apps.cases.models import Case, CaseEvent, ClockState, DeadlineFlag, State
from tenant_apps.cases.tests.conftest import case_in, publish_service, submitted_case
from tests.helpers import host_of, make_id_number

INTENT_BUTTON = re.compile(r'data-intent="([a-z_]+)"')


def _get(client, tenant, path, **params):
    return client.get(path, params, HTTP_HOST=host_of(tenant))


def _numbers(response) -> set[str]:
    return set(re.findall(r">(\d{6}[0-9A-Z]{37})</a>", response.content.decode()))


def _intents(response) -> list[str]:
    return INTENT_BUTTON.findall(response.content.decode())


def _post_intent(client, tenant, case, intent, key=None, **fields):
    connection.set_schema_to_public()
    return client.post(
        f"/workbench/cases/{case.public_id}/{intent}",
        {"idempotency_key": str(key or uuid.uuid4()), **fields},
        HTTP_HOST=host_of(tenant),
    )


def _state(tenant, case) -> str:
    connection.set_tenant(tenant)
    state = Case.objects.get(pk=case.pk).state
    connection.set_schema_to_public()
    return state


def _flagged(case, flag):
    case.clock_state = ClockState.RUNNING
    case.deadline_flag = flag
    case.save(update_fields=["clock_state", "deadline_flag"])
    return case


def _cases(people, service, tenant):
    """One case in each state a queue holds, plus a draft and a closed one no working queue has."""
    made = {
        state: case_in(state, service, tenant, people.citizen)
        for state in (
            State.DRAFT,
            State.SUBMITTED,
            State.ACCEPTED,
            State.UNDER_REVIEW,
            State.DECIDED,
            State.CLOSED,
        )
    }
    made["yellow"] = _flagged(
        case_in(State.UNDER_REVIEW, service, tenant, people.citizen), "yellow"
    )
    made["red"] = _flagged(case_in(State.ACCEPTED, service, tenant, people.citizen), "red")
    # Written straight to the table, not through the actions that forget the menu's counts.
    connection.set_tenant(tenant)
    queries.forget_queue_counts()
    connection.set_schema_to_public()
    return made


def _counts(page) -> dict[str, int]:
    return {
        name: int(count)
        for name, count in re.findall(
            r'id="queue-([a-z_]+)"[^>]*>[^<]*<span class="queue-count">(\d+)</span>',
            page.content.decode(),
        )
    }


def test_each_queue_holds_its_cases_with_counts(client, people, service, tenant):
    sign_in_with_second_factor(client, people.clerk)
    # Other tests' committed cases may stand in this unit (test_races.py): count the difference.
    before = _counts(_get(client, tenant, "/workbench/"))
    cases = _cases(people, service, tenant)
    expected = {
        "to_accept": {State.SUBMITTED},
        "to_review": {State.ACCEPTED, State.UNDER_REVIEW, "yellow", "red"},
        "to_decide": {State.UNDER_REVIEW, "yellow"},
        "to_deliver": {State.DECIDED},
        "parallel": set(),  # test_parallel.py
        "yellow": {"yellow"},
        "red": {"red"},
        "all": set(cases) - {State.DRAFT},
    }
    for queue, keys in expected.items():
        page = _get(client, tenant, "/workbench/", queue=queue, item=service.pk)
        assert page.status_code == 200, queue
        assert _numbers(page) == {cases[key].number for key in keys}, queue
        counts = _counts(page)
        assert set(counts) == set(expected) - {"all"}
        assert {name: counts[name] - before[name] for name in counts} == {
            name: len(holds) for name, holds in expected.items() if name != "all"
        }
    # No queue named: the cases to accept. The drafts are their applicants' own.
    first = _get(client, tenant, "/workbench/", item=service.pk)
    assert _numbers(first) == {cases[State.SUBMITTED].number}
    assert (
        str(cases[State.DRAFT].public_id)
        not in _get(client, tenant, "/workbench/", queue="all").content.decode()
    )
    draft_page = _get(client, tenant, f"/workbench/cases/{cases[State.DRAFT].public_id}")
    assert draft_page.status_code == 404


def test_same_day_items_wait_to_be_decided_straight_after_acceptance(client, people, tenant):
    same_day = publish_service(people.root, tenant, promised_days=0)
    case = case_in(State.ACCEPTED, same_day, tenant, people.citizen, promised_days=0)
    sign_in_with_second_factor(client, people.approver)
    connection.set_schema_to_public()
    assert case.number in _numbers(_get(client, tenant, "/workbench/", queue="to_decide"))
    assert "decide" in _intents(_get(client, tenant, f"/workbench/cases/{case.public_id}"))


def test_filters_search_and_paging(client, people, service, tenant, root):
    other = publish_service(root, tenant)
    mine = [case_in(State.SUBMITTED, service, tenant, people.citizen) for _ in range(22)]
    theirs = case_in(State.SUBMITTED, other, tenant, people.other_citizen)
    # Submitted in the reverse order of their creation (ids): the queue follows submission.
    start = timezone.now() - timedelta(days=3)
    for minutes, case in enumerate(reversed(mine)):
        Case.objects.filter(pk=case.pk).update(submitted_at=start + timedelta(minutes=minutes))
    oldest_first = [case.number for case in reversed(mine)]
    connection.set_schema_to_public()
    number = make_id_number(sequence="271")
    people.other_citizen.id_number_digest = id_number_digest(number)
    people.other_citizen.id_number_masked = mask_id_number(number)
    people.other_citizen.save()
    sign_in_with_second_factor(client, people.clerk)
    first = _get(client, tenant, "/workbench/", queue="to_accept", item=service.pk)
    # Oldest submission first, 20 a page, with the total.
    assert len(_numbers(first)) == 20 and "共 22 项" in first.content.decode()
    second = _get(client, tenant, "/workbench/", queue="to_accept", item=service.pk, page=2)
    assert len(_numbers(second)) == 2
    assert _numbers(first) | _numbers(second) == {c.number for c in mine}
    shown = re.findall(
        r">(\d{6}[0-9A-Z]{37})</a>", first.content.decode() + second.content.decode()
    )
    assert shown == oldest_first
    by_item = _get(client, tenant, "/workbench/", queue="to_accept", item=other.pk)
    assert _numbers(by_item) == {theirs.number}
    # The queue menu keeps the filters.
    assert f'href="?queue=to_review&amp;item={other.pk}"' in by_item.content.decode()
    by_department = _get(
        client, tenant, "/workbench/", queue="all", department=theirs.department_id
    )
    assert theirs.number in _numbers(by_department)
    by_number = _get(client, tenant, "/workbench/", queue="all", q=mine[3].number.lower())
    assert _numbers(by_number) == {mine[3].number}
    by_name = _get(client, tenant, "/workbench/", queue="all", q="王702")
    assert _numbers(by_name) == {theirs.number}
    by_id = _get(client, tenant, "/workbench/", queue="all", q=number)
    assert _numbers(by_id) == {theirs.number}
    assert _numbers(_get(client, tenant, "/workbench/", queue="all", q="没有这个人")) == set()


def _queue_queries(client, tenant) -> int:
    with CaptureQueriesContext(connection) as queries:
        page = _get(client, tenant, "/workbench/", queue="all", q="王")
    assert page.status_code == 200
    return len(queries)


def test_the_queue_page_takes_a_fixed_number_of_queries(
    client, people, service, tenant, django_assert_max_num_queries
):
    sign_in_with_second_factor(client, people.clerk)
    case_in(State.SUBMITTED, service, tenant, people.citizen)
    connection.set_schema_to_public()
    _queue_queries(client, tenant)  # the first request of a process caches the host map
    few = _queue_queries(client, tenant)  # the menu's counts from the cache
    for applicant in (people.citizen, people.other_citizen):
        for state in (State.SUBMITTED, State.ACCEPTED, State.DECIDED):
            for _ in range(4):
                case_in(state, service, tenant, applicant)
    connection.set_schema_to_public()
    # The new cases made the menu count again, once; then it is the same page as before.
    _queue_queries(client, tenant)
    assert _queue_queries(client, tenant) == few
    # Session, user, second factor, roles; implementations, departments; the page's count, its
    # rows, their applicants' names; the queue counts.
    with django_assert_max_num_queries(14):
        _get(client, tenant, "/workbench/", queue="to_accept")


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        (State.SUBMITTED, "window_clerk", ["accept", "reject", "request_corrections"]),
        (State.SUBMITTED, "reviewer", []),
        (State.SUBMITTED, "approver", []),
        (State.ACCEPTED, "reviewer", ["start_review", "escalate"]),
        (State.ACCEPTED, "department_head", ["extend", "escalate"]),
        (State.UNDER_REVIEW, "reviewer", ["request_corrections", "suspend", "escalate"]),
        (State.UNDER_REVIEW, "approver", ["decide", "suspend", "escalate"]),
        (State.UNDER_REVIEW, "department_head", ["decide", "extend", "escalate"]),
        (State.UNDER_REVIEW, "window_clerk", []),
        (State.SUSPENDED, "approver", ["resume"]),
        (State.DECIDED, "window_clerk", ["deliver"]),
        (State.DECIDED, "approver", []),
        (State.DELIVERED, "window_clerk", ["close"]),
    ],
)
def test_each_role_sees_only_its_actions(client, people, service, tenant, state, role, expected):
    case = case_in(state, service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.for_role(role))
    page = _get(client, tenant, f"/workbench/cases/{case.public_id}")
    assert page.status_code == 200
    assert _intents(page) == expected
    html = page.content.decode()
    assert case.number in html and "老王烩面馆" in html
    # One hidden idempotency key per form, each different.
    keys = re.findall(r'name="idempotency_key" value="([0-9a-f-]{36})"', html)
    assert len(keys) == len(expected) == len(set(keys))


def test_every_intent_through_the_page(client, people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    rejected = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()

    def act(person, intent, state, **fields):
        sign_in_with_second_factor(client, person)
        target = fields.pop("case", case)
        response = _post_intent(client, tenant, target, intent, **fields)
        assert response.status_code == 302, (intent, response.content.decode()[:3000])
        assert _state(tenant, target) == state, intent
        page = client.get(response["Location"], HTTP_HOST=host_of(tenant))
        assert "已完成" in page.content.decode()

    act(people.clerk, "reject", State.NOT_ACCEPTED, case=rejected, reasons="不属于本机关职权范围")
    act(
        people.clerk,
        "request_corrections",
        State.CORRECTIONS_REQUESTED,
        items="补交营业执照副本\n\n申请书缺少签字\n",
    )
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).corrections == ["补交营业执照副本", "申请书缺少签字"]
    actions.resubmit(Case.objects.get(pk=case.pk), actor=people.citizen)
    connection.set_schema_to_public()
    act(people.clerk, "accept", State.ACCEPTED)
    act(people.reviewer, "start_review", State.UNDER_REVIEW)
    act(people.reviewer, "suspend", State.SUSPENDED, ground="expert_review", reason="专家论证")
    act(people.approver, "resume", State.UNDER_REVIEW, reason="论证完成")
    act(people.head, "extend", State.UNDER_REVIEW, days="10", reason="情况复杂")
    act(
        people.approver,
        "decide",
        State.DECIDED,
        decision="approved",
        legal_basis="《食品安全法》第三十五条",
    )
    act(people.clerk, "deliver", State.DELIVERED, method="post", details="顺丰 SF1234567890")
    act(people.clerk, "close", State.CLOSED)
    connection.set_tenant(tenant)
    done = Case.objects.get(pk=case.pk)
    assert done.extension_days == 10 and done.decision == "approved"
    assert done.delivery_details == "顺丰 SF1234567890"
    steps = list(CaseEvent.objects.filter(case=done).values_list("intent", "channel"))
    assert [s for s, _ in steps][-9:] == [
        "request_corrections",
        "resubmit",
        "accept",
        "start_review",
        "suspend",
        "resume",
        "extend",
        "decide",
        "deliver",
    ] or [s for s, _ in steps][-10:-1] == [
        "request_corrections",
        "resubmit",
        "accept",
        "start_review",
        "suspend",
        "resume",
        "extend",
        "decide",
        "deliver",
    ]
    assert steps[-1] == ("close", "window")


def test_a_double_click_applies_once(client, people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    sign_in_with_second_factor(client, people.clerk)
    key = uuid.uuid4()
    first = _post_intent(client, tenant, case, "accept", key=key)
    second = _post_intent(client, tenant, case, "accept", key=key)
    assert first.status_code == second.status_code == 302
    page = client.get(second["Location"], HTTP_HOST=host_of(tenant)).content.decode()
    assert "已经完成" in page
    connection.set_tenant(tenant)
    assert CaseEvent.objects.filter(case_id=case.pk, intent="accept").count() == 1
    assert IntentKey.objects.filter(actor=f"user:{people.clerk.pk}", key=str(key)).count() == 1
    # The same key with other values is refused, not applied.
    connection.set_schema_to_public()
    other = _post_intent(client, tenant, case, "reject", key=key, reasons="重复")
    assert other.status_code == 409 and "刷新" in other.content.decode()
    assert _state(tenant, case) == State.ACCEPTED


def test_the_second_clerk_gets_the_conflict_with_the_form_kept(client, people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.clerk)
    assert _post_intent(client, tenant, case, "accept").status_code == 302
    sign_in_with_second_factor(client, people.clerk2)
    lost = _post_intent(client, tenant, case, "reject", reasons="材料不全，请补充")
    assert lost.status_code == 409
    html = lost.content.decode()
    assert "已受理" in html and "刷新" in html
    # What they typed stays readable, though the form can't be sent any more.
    assert "材料不全，请补充" in html and 'id="stale-form"' in html
    assert 'id="form-reject"' not in html
    connection.set_tenant(tenant)
    assert (
        list(CaseEvent.objects.filter(case_id=case.pk).values_list("intent", flat=True))[-1]
        == "accept"
    )


def test_errors_come_back_in_chinese_with_the_form_kept(client, people, service, tenant):
    case = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.approver)
    refused = _post_intent(
        client, tenant, case, "decide", decision="refused", reasons="", legal_basis="某条例"
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "此项为必填项" in html and "某条例" in html
    sign_in_with_second_factor(client, people.head)
    too_long = _post_intent(
        client, tenant, case, "extend", days="20", reason="情况复杂", legal_basis=""
    )
    assert too_long.status_code == 400 and "此项为必填项" in too_long.content.decode()
    assert _state(tenant, case) == State.UNDER_REVIEW
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).extension_days == 0


@pytest.mark.parametrize(
    ("intent", "fields"),
    [
        ("reject", {"reasons": "理" * 2001}),
        ("request_corrections", {"items": "\n".join(f"第{n}项" for n in range(51))}),
        ("request_corrections", {"items": "长" * 501}),
        ("extend", {"days": "abc", "reason": "x"}),
        ("extend", {"days": "31", "reason": "x"}),
        ("decide", {"decision": "maybe", "legal_basis": "x"}),
        ("suspend", {"ground": "holiday", "reason": "x"}),
        ("deliver", {"method": "pigeon"}),
        ("accept", {"idempotency_key": "not-a-uuid"}),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client, people, service, tenant, intent, fields
):
    case = case_in(State.SUBMITTED, service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.root)  # every role would need its own state
    response = client.post(
        f"/workbench/cases/{case.public_id}/{intent}",
        {"idempotency_key": str(uuid.uuid4()), **fields},
        HTTP_HOST=host_of(tenant),
    )
    assert response.status_code == 400
    assert "请更正" in response.content.decode()
    connection.set_tenant(tenant)
    assert not CaseEvent.objects.filter(case_id=case.pk).exists()
    assert Case.objects.get(pk=case.pk).state == State.SUBMITTED


def test_bad_queue_parameters_get_the_chinese_400_page(client, people, tenant):
    sign_in_with_second_factor(client, people.clerk)
    for params in (
        {"queue": "everything"},
        {"item": "x"},
        {"department": "1" * 30},
        {"q": "长" * 51},
    ):
        page = _get(client, tenant, "/workbench/", **params)
        assert page.status_code == 400, params
    unknown = client.post(
        f"/workbench/cases/{uuid.uuid4()}/accept",
        {"idempotency_key": str(uuid.uuid4())},
        HTTP_HOST=host_of(tenant),
    )
    assert unknown.status_code == 404
    case = submitted_case(
        people.clerk and publish_service(people.root, tenant), tenant, people.citizen
    )
    connection.set_schema_to_public()
    for intent in ("withdraw", "submit", "no_such_intent"):
        assert _post_intent(client, tenant, case, intent).status_code == 404


def test_another_units_staff_and_citizens_get_nothing(
    client, people, service, tenant, other_tenant
):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    foreign = people.staff("gulou-wb-clerk", Role.WINDOW_CLERK, tenant=other_tenant)
    anonymous = _get(client, tenant, "/workbench/")
    assert anonymous.status_code == 302 and "sign-in" in anonymous["Location"]
    for person in (foreign, people.citizen, people.agent):
        sign_in_with_second_factor(client, person)
        for path in ("/workbench/", f"/workbench/cases/{case.public_id}", "/workbench/window"):
            assert _get(client, tenant, path).status_code == 403, (person, path)
        assert _post_intent(client, tenant, case, "accept").status_code == 403
    # On its own unit's host, the foreign clerk does not find this unit's case.
    sign_in_with_second_factor(client, foreign)
    assert _get(client, other_tenant, "/workbench/").status_code == 200
    assert (
        case.number not in _get(client, other_tenant, "/workbench/", queue="all").content.decode()
    )
    assert _get(client, other_tenant, f"/workbench/cases/{case.public_id}").status_code == 404
    assert _post_intent(client, other_tenant, case, "accept").status_code == 404
    # A clerk without the second factor is refused too.
    client.force_login(people.clerk)
    assert _get(client, tenant, "/workbench/").status_code == 403
    assert _state(tenant, case) == State.SUBMITTED


def test_a_provincial_administrator_reads_but_does_not_act(client, people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.root)
    page = _get(client, tenant, f"/workbench/cases/{case.public_id}")
    assert page.status_code == 200 and _intents(page) == []
    assert 'id="read-only"' in page.content.decode()
    refused = _post_intent(client, tenant, case, "accept")
    assert refused.status_code == 403 and "您无权" in refused.content.decode()
    assert _state(tenant, case) == State.SUBMITTED


def test_the_staff_and_account_pages_link_to_the_workbench(client, people, tenant):
    admin = people.staff("wb-admin", Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    assert 'href="/workbench/"' in _get(client, tenant, "/staff").content.decode()
    assert _get(client, tenant, "/workbench/").status_code == 200
    # A clerk (who has no staff page) finds each of their units' workbench on their account.
    sign_in_with_second_factor(client, people.clerk)
    account = _get(client, tenant, "/accounts/me").content.decode()
    assert f"//{host_of(tenant)}" in account and '/workbench/"' in account
    sign_in_with_second_factor(client, people.agent)
    assert "/workbench/" not in _get(client, tenant, "/accounts/me").content.decode()


# --- hall window (一窗受理) ------------------------------------------------------------------


@pytest.fixture
def citizen_with_id(people):
    number = make_id_number(sequence="377")
    people.citizen.id_number_digest = id_number_digest(number)
    people.citizen.id_number_masked = mask_id_number(number)
    people.citizen.save()
    return number


@pytest.fixture
def window_service(service):
    """The test service with its materials filled in as form sections (申报材料表单化)."""
    ImplementationMaterial.objects.filter(implementation=service).update(as_form_section="现场核验")
    return service


def _window(client, tenant, **fields):
    connection.set_schema_to_public()
    return client.post("/workbench/window", fields, HTTP_HOST=host_of(tenant))


def test_registering_at_the_window(client, people, tenant, window_service, citizen_with_id):
    sign_in_with_second_factor(client, people.clerk)
    assert _get(client, tenant, "/workbench/window").status_code == 200
    found = _window(client, tenant, step="find", id_number=citizen_with_id.lower())
    html = found.content.decode()
    assert found.status_code == 200 and "王701" in html and mask_id_number(citizen_with_id) in html
    # Every look-up by ID number is audited in the unit's chain, with the number masked.
    assert AuditEntry.objects.filter(
        action="cases.window_lookup",
        target=mask_id_number(citizen_with_id),
        actor_user_id=people.clerk.pk,
    ).exists()
    chosen = _window(
        client, tenant, step="choose", id_number=citizen_with_id, implementation=window_service.pk
    )
    html = chosen.content.decode()
    assert 'name="form-shop_name"' in html and 'name="form-area"' in html
    material_ids = [
        m.guide_material_id
        for m in ImplementationMaterial.objects.filter(implementation=window_service)
    ]
    assert all(f'name="material-{m}"' in html for m in material_ids)
    key = str(uuid.uuid4())
    fields = {
        "step": "register",
        "id_number": citizen_with_id,
        "implementation": window_service.pk,
        "idempotency_key": key,
        "form-shop_name": "老李面馆",
        "form-area": "45",
        "accept_now": "on",
        **{f"material-{m}": "on" for m in material_ids},
    }
    registered = _window(client, tenant, **fields)
    assert registered.status_code == 302, registered.content.decode()[:3000]
    again = _window(client, tenant, **fields)  # a double click
    assert again.status_code == 302 and again["Location"] == registered["Location"]
    connection.set_tenant(tenant)
    [case] = Case.objects.filter(applicant_id=people.citizen.pk)
    assert case.channel == "window" and case.state == State.ACCEPTED
    assert case.form_data == {"shop_name": "老李面馆", "area": 45.0}
    assert case.filed_by_id == people.clerk.pk and case.number
    assert list(CaseEvent.objects.filter(case=case).values_list("intent", "channel")) == [
        ("save_draft", "window"),
        ("submit", "window"),
        ("accept", "window"),
    ]
    connection.set_schema_to_public()
    assert case.number in _get(client, tenant, registered["Location"]).content.decode()


def test_window_errors_in_chinese_and_nothing_half_written(
    client, people, tenant, service, citizen_with_id
):
    sign_in_with_second_factor(client, people.clerk)
    invalid = _window(client, tenant, step="find", id_number="410102199003071234")
    assert invalid.status_code == 400 and "校验" in invalid.content.decode()
    unknown = _window(client, tenant, step="find", id_number=make_id_number(sequence="999"))
    assert unknown.status_code == 400 and "没有账号" in unknown.content.decode()
    too_long = _window(client, tenant, step="find", id_number="1" * 41)
    assert too_long.status_code == 400
    # The guide's materials are not all handed in: the form comes back; no case, no draft.
    missing = _window(
        client,
        tenant,
        step="register",
        id_number=citizen_with_id,
        implementation=service.pk,
        idempotency_key=str(uuid.uuid4()),
        **{"form-shop_name": "老李面馆", "form-area": "45"},
    )
    assert missing.status_code == 400 and "缺少必交材料" in missing.content.decode()
    wrong = _window(
        client,
        tenant,
        step="register",
        id_number=citizen_with_id,
        implementation=service.pk,
        idempotency_key=str(uuid.uuid4()),
        **{"form-shop_name": "名" * 21, "form-area": "0"},
    )
    assert wrong.status_code == 400
    html = wrong.content.decode()
    assert "最多 20 个字符" in html or "20" in html
    assert (
        _window(
            client, tenant, step="register", id_number=citizen_with_id, implementation="x"
        ).status_code
        == 400
    )
    assert _window(client, tenant, step="nonsense").status_code == 400
    connection.set_tenant(tenant)
    assert not Case.objects.filter(applicant_id=people.citizen.pk).exists()


def test_only_window_clerks_register_at_the_window(client, people, tenant):
    for person in (people.reviewer, people.approver, people.head):
        sign_in_with_second_factor(client, person)
        assert _get(client, tenant, "/workbench/window").status_code == 403
        assert 'id="window-mode"' not in _get(client, tenant, "/workbench/").content.decode()


def test_a_flagged_case_shows_its_warning_and_days_left(client, people, service, tenant):
    case = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)
    case.deadline_flag = DeadlineFlag.RED
    case.clock_days_used = 14
    case.save()
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.reviewer)
    html = _get(client, tenant, f"/workbench/cases/{case.public_id}").content.decode()
    assert 'id="flag"' in html and "红牌" in html
    assert "超期" in html


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_queues_and_their_counts_can_use_the_indexes(people, service, tenant):
    """With sequential scans ruled out (a test unit is too small for the planner to want an
    index), each query has an index path: the working queues and their counts never need to
    read the unit's closed cases."""

    _cases(people, service, tenant)
    connection.set_tenant(tenant)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # A flagged queue reads the flagged cases or the running clocks, whichever is smaller.
    for queue, indexes in (
        ("to_accept", {"cases_queue"}),
        ("to_decide", {"cases_queue"}),
        ("yellow", {"cases_flagged", "cases_running_clock"}),
        ("red", {"cases_flagged", "cases_running_clock"}),
    ):
        plan = queries.workbench_cases(queue=queue)[:20].explain()
        assert any(index in plan for index in indexes) and "Seq Scan" not in plan, (queue, plan)
    with CaptureQueriesContext(connection) as captured:
        queries.count_queues()
    [query] = captured.captured_queries
    plan = _plan(query["sql"])
    assert "cases_queue" in plan and "cases_flagged" in plan, plan


def test_the_case_page_takes_a_fixed_number_of_queries(
    client, people, service, tenant, django_assert_max_num_queries
):
    case = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.approver)
    assert _get(client, tenant, f"/workbench/cases/{case.public_id}").status_code == 200
    # Session, user, second factor, roles; the case, its applicant, the item's form and
    # materials, the history.
    with django_assert_max_num_queries(12):
        _get(client, tenant, f"/workbench/cases/{case.public_id}")


def test_the_case_page_shows_the_forms_titles_and_the_days_left(client, people, service, tenant):
    from shared_apps.catalog.models import Implementation

    schema = {
        **service.form_schema,
        "properties": {
            "shop_name": {"type": "string", "maxLength": 20, "title": "店铺名称"},
            "area": {"type": "number", "minimum": 1, "title": "经营面积（平方米）"},
        },
    }
    Implementation.objects.filter(pk=service.pk).update(form_schema=schema)
    case = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)  # 3 of 10 days used
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.reviewer)
    html = _get(client, tenant, f"/workbench/cases/{case.public_id}").content.decode()
    assert "店铺名称" in html and "经营面积（平方米）" in html and "老王烩面馆" in html
    assert re.search(r'id="days-left">7 个工作日<', html)
    assert 'id="flag"' not in html
