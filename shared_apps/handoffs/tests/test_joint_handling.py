"""多级联办 (收受分离), 上报 and 退回 end to end: through the case actions and the relay, in the real
schemas of a township, its county and their city."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.audit.models import AuditEntry
from shared_apps.handoffs import actions as handoffs
from shared_apps.handoffs import relay
from shared_apps.handoffs.models import Handoff, Kind, Status
from shared_apps.handoffs.tests.conftest import Staff, publish_item
from shared_apps.ledger.models import ApplicantCase
from tenant_apps.cases import actions, clock, transitions
from tenant_apps.cases.models import Case, CaseEvent, ClockState, State
from tenant_apps.cases.tests.conftest import submitted_case
from tests.helpers import host_of


@pytest.fixture
def staff(root, django_user_model, township, county, city):
    return Staff(root, django_user_model, [township, county, city])


def in_unit(unit, case) -> Case:
    connection.set_tenant(unit)
    return Case.objects.filter(public_id=case.public_id).first()  # left in the unit's schema


def index_rows(case) -> list[tuple[int, str]]:
    connection.set_schema_to_public()
    return list(
        ApplicantCase.objects.filter(case_public_id=case.public_id).values_list(
            "tenant_id", "state"
        )
    )


def days_back(case, unit, days: int) -> int:
    """Let the running clock have begun `days` calendar days ago; the working days it used."""
    connection.set_tenant(unit)
    since = timezone.localdate() - timedelta(days=days)
    Case.objects.filter(pk=case.pk).update(clock_running_since=since)
    case.refresh_from_db()
    return clock.working_days_between(since, timezone.localdate())


def test_the_township_accepts_and_the_county_decides(root, staff, township, county):
    items = publish_item(root, [county, township])
    joint = handoffs.set_decided_by(items[township.code], decided_by=county, actor=root)
    township_clerk, county_staff = staff.of[township.code], staff.of[county.code]

    case = submitted_case(joint, township, staff.citizen)
    actions.accept(case, actor=township_clerk)
    actions.start_review(case, actor=township_clerk)  # 预审 (§43)
    # The township may not decide an item its county decides.
    with pytest.raises(transitions.CaseConflict):
        actions.decide(case, actor=township_clerk, decision="approved", legal_basis="某条")
    used_here = days_back(case, township, 9)
    connection.set_tenant(township)
    actions.forward(case, actor=township_clerk)

    waiting = in_unit(township, case)
    assert (waiting.state, waiting.clock_state) == (State.FORWARDED, ClockState.PAUSED)
    assert waiting.clock_days_used == used_here and waiting.passed_to_id == county.pk
    [sent] = Handoff.objects.filter(case_public_id=case.public_id)
    assert (sent.kind, sent.status, sent.from_tenant, sent.to_tenant) == (
        Kind.JOINT_ACCEPT,
        Status.PENDING,
        township,
        county,
    )
    assert in_unit(county, case) is None  # nothing there until the relay applies it
    assert index_rows(case) == [(township.pk, State.FORWARDED)]

    assert relay.relay() == 1
    there = in_unit(county, case)
    assert (there.number, there.applicant_id, there.state) == (
        case.number,
        staff.citizen.pk,
        State.ACCEPTED,
    )
    assert there.implementation_id == items[county.code].pk  # the county's department decides
    assert (there.received_from_id, there.received_as) == (township.pk, Kind.JOINT_ACCEPT)
    # The clock goes on from the days the township used, against the whole promised limit.
    assert there.clock_state == ClockState.RUNNING and there.clock_days_used == used_here
    assert there.due_at == clock.due_times(there)[0]
    sent.refresh_from_db()
    assert sent.status == Status.APPLIED and sent.applied_at is not None
    connection.set_tenant(county)
    assert CaseEvent.objects.get(handoff_id=sent.pk).case_id == there.pk
    connection.set_schema_to_public()
    # The applicant sees one case, where it is now.
    assert index_rows(case) == [(county.pk, State.ACCEPTED)]

    # Applied once: another run finds nothing, and applying the row again does nothing.
    assert relay.relay() == 0
    connection.set_tenant(county)
    assert actions.receive_handoff(sent) is None
    assert Case.objects.filter(public_id=case.public_id).count() == 1

    actions.start_review(there, actor=county_staff)
    actions.decide(
        there,
        actor=county_staff,
        decision="approved",
        legal_basis="《河南省食品小作坊、小经营店和小摊点管理条例》第十二条",
    )
    # The county doesn't deliver: the result goes back to the township.
    decided_there = in_unit(county, case)
    connection.set_tenant(county)
    with pytest.raises(transitions.CaseConflict):
        actions.deliver(decided_there, actor=county_staff, method="electronic")
    connection.set_schema_to_public()
    result = Handoff.objects.get(case_public_id=case.public_id, kind=Kind.JOINT_RESULT)
    assert (result.from_tenant, result.to_tenant, result.status) == (
        county,
        township,
        Status.PENDING,
    )

    assert relay.relay() == 1
    back = in_unit(township, case)
    assert (back.state, back.decision, back.clock_state) == (
        State.DECIDED,
        "approved",
        ClockState.STOPPED,
    )
    assert back.clock_days_used == in_unit(county, case).clock_days_used >= used_here
    assert index_rows(case) == [(township.pk, State.DECIDED)]
    connection.set_tenant(township)
    actions.deliver(back, actor=township_clerk, method="pickup")
    assert in_unit(township, case).state == State.DELIVERED
    assert index_rows(case) == [(township.pk, State.DELIVERED)]
    connection.set_schema_to_public()
    assert (
        AuditEntry.objects.filter(
            action="cases.receive_handoff", target=case.number, actor="system:handoffs"
        ).count()
        == 1
    )


def test_decided_by_must_be_a_unit_above_that_publishes_the_item(root, township, county, city):
    items = publish_item(root, [township, city])
    with pytest.raises(ValidationError):  # the county publishes no such item
        handoffs.set_decided_by(items[township.code], decided_by=county, actor=root)
    with pytest.raises(ValidationError):  # not above
        handoffs.set_decided_by(items[city.code], decided_by=township, actor=root)
    handoffs.set_decided_by(items[township.code], decided_by=city, actor=root)


def test_escalation_by_hand_and_return(root, staff, county, city):
    items = publish_item(root, [county])
    county_staff, city_staff = staff.of[county.code], staff.of[city.code]
    case = submitted_case(items[county.code], county, staff.citizen)
    actions.accept(case, actor=county_staff)
    actions.start_review(case, actor=county_staff)
    with pytest.raises(ValidationError):  # a reason is required
        actions.escalate(case, actor=county_staff, reason="  ")
    # Only a case escalated here can be returned.
    with pytest.raises(transitions.CaseConflict):
        actions.return_case(case, actor=county_staff, reason="不是上报的")
    connection.set_tenant(county)
    actions.escalate(case, actor=county_staff, reason="涉及跨县经营，报市局决定")
    assert in_unit(county, case).state == State.FORWARDED

    assert relay.relay() == 1
    above = in_unit(city, case)
    assert (above.state, above.received_as, above.received_from_id) == (
        State.ACCEPTED,
        Kind.ESCALATE,
        county.pk,
    )
    connection.set_tenant(city)
    assert CaseEvent.objects.get(case=above).reason == "涉及跨县经营，报市局决定"
    # The county's staff can't act on the city's case.
    with pytest.raises(PermissionDenied):
        actions.return_case(above, actor=county_staff, reason="自己退回")
    actions.return_case(above, actor=city_staff, reason="属县级事权，退回办理")
    assert in_unit(city, case).state == State.FORWARDED

    assert relay.relay() == 1
    again = in_unit(county, case)
    assert (again.state, again.clock_state) == (State.UNDER_REVIEW, ClockState.RUNNING)
    connection.set_tenant(county)
    assert again.events.last().reason == "属县级事权，退回办理"
    actions.decide(again, actor=county_staff, decision="approved", legal_basis="某条例第五条")
    connection.set_schema_to_public()
    assert not Handoff.objects.filter(case_public_id=case.public_id, kind=Kind.JOINT_RESULT)
    assert index_rows(case) == [(county.pk, State.DECIDED)]


def test_escalation_by_rule_when_the_unit_is_no_longer_authorised(root, staff, township, county):
    from shared_apps.catalog import actions as catalog

    items = publish_item(root, [township], levels=(4, 5))
    implementation = items[township.code]
    # The province re-grades the item: county level only.
    catalog.save_basic_item(
        actor=root,
        code=implementation.item.code,
        name=implementation.item.name,
        exercising_levels=[4],
    )
    case = submitted_case(implementation, township, staff.citizen)
    actions.accept(case, actor=staff.of[township.code])
    escalated = in_unit(township, case)
    assert escalated.state == State.FORWARDED and escalated.passed_to_id == county.pk
    connection.set_tenant(township)
    assert [(e.intent, e.actor) for e in escalated.events.all()][-2:] == [
        ("accept", staff.of[township.code].username),
        ("escalate", transitions.RULE_ACTOR),
    ]
    connection.set_schema_to_public()
    assert Handoff.objects.get(case_public_id=case.public_id).kind == Kind.ESCALATE


def test_another_units_staff_can_neither_act_nor_look(client, root, staff, township, county):
    items = publish_item(root, [county, township])
    joint = handoffs.set_decided_by(items[township.code], decided_by=county, actor=root)
    case = submitted_case(joint, township, staff.citizen)
    actions.accept(case, actor=staff.of[township.code])
    county_staff = staff.of[county.code]
    # The county's staff: no right on the township's side of the case, by action or by page.
    with pytest.raises(PermissionDenied):
        actions.forward(case, actor=county_staff)
    with pytest.raises(PermissionDenied):
        actions.escalate(case, actor=county_staff, reason="试图越权")
    actions.forward(case, actor=staff.of[township.code])
    relay.relay()
    sign_in_with_second_factor(client, county_staff)
    connection.set_schema_to_public()
    page = client.get(f"/workbench/cases/{case.public_id}", HTTP_HOST=host_of(township))
    assert page.status_code in (403, 404)
    posted = client.post(
        f"/workbench/cases/{case.public_id}/escalate",
        {"idempotency_key": str(uuid.uuid4()), "reason": "越权"},
        HTTP_HOST=host_of(township),
    )
    assert posted.status_code in (403, 404)
    # Their own side shows the case with the intents it allows there.
    own = client.get(f"/workbench/cases/{case.public_id}", HTTP_HOST=host_of(county))
    assert own.status_code == 200
    # Nobody but the relay applies a hand-off, and only in the unit it is for.
    connection.set_tenant(township)
    [sent] = Handoff.objects.filter(case_public_id=case.public_id)
    with pytest.raises(PermissionDenied):
        actions.receive_handoff(sent)  # it is the county's
    with pytest.raises(PermissionDenied):
        actions._transition(in_unit(township, case), "take_back", actor=county_staff)


def test_each_unit_lists_only_its_own_handoffs(client, root, staff, township, county, other_tenant):
    items = publish_item(root, [county, township])
    joint = handoffs.set_decided_by(items[township.code], decided_by=county, actor=root)
    case = submitted_case(joint, township, staff.citizen)
    actions.accept(case, actor=staff.of[township.code])
    actions.forward(case, actor=staff.of[township.code])
    connection.set_schema_to_public()

    def listing(person, unit, **params):
        sign_in_with_second_factor(client, person)
        return client.get("/api/v1/handoffs", params, HTTP_HOST=host_of(unit))

    sent = listing(staff.of[township.code], township).json()
    assert [(r["direction"], r["case_number"], r["other_unit_code"]) for r in sent["items"]] == [
        ("sent", case.number, county.code)
    ]
    received = listing(staff.of[county.code], county, direction="received").json()
    assert [(r["kind"], r["status"]) for r in received["items"]] == [("joint_accept", "pending")]
    assert listing(staff.of[county.code], county, direction="sent").json()["count"] == 0
    # Another unit's staff: their own unit shows nothing of it, and the township refuses them.
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role

    foreign = django_user = staff.of[county.code].__class__.objects.create_user("foreign-staff")
    accounts.grant_role(actor=root, user=django_user, tenant=other_tenant, role=Role.REVIEWER)
    assert listing(foreign, other_tenant).json()["count"] == 0
    assert listing(foreign, township).status_code == 403


def test_a_decision_two_levels_up_comes_back_down_to_the_unit_that_accepted(
    root, staff, township, county, city
):
    items = publish_item(root, [township])
    case = submitted_case(items[township.code], township, staff.citizen)
    actions.accept(case, actor=staff.of[township.code])
    actions.escalate(case, actor=staff.of[township.code], reason="报区局")
    relay.relay()
    actions.escalate(in_unit(county, case), actor=staff.of[county.code], reason="报市局")
    relay.relay()
    actions.start_review(in_unit(city, case), actor=staff.of[city.code])
    actions.decide(
        in_unit(city, case), actor=staff.of[city.code], decision="refused",
        reasons="条件不符", legal_basis="某条例第五条",
    )  # fmt: skip
    assert relay.relay() == 2  # city → county, then county → township
    assert in_unit(county, case).state == State.DECIDED
    back = in_unit(township, case)
    assert (back.state, back.decision, back.decision_reasons) == (
        State.DECIDED,
        "refused",
        "条件不符",
    )
    assert index_rows(case) == [(township.pk, State.DECIDED)]


def test_the_workbench_offers_escalate_and_return_where_they_apply(
    client, root, staff, county, city
):
    import re

    items = publish_item(root, [county])
    case = submitted_case(items[county.code], county, staff.citizen)
    actions.accept(case, actor=staff.of[county.code])
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, staff.of[county.code])
    page = client.get(f"/workbench/cases/{case.public_id}", HTTP_HOST=host_of(county))
    offered = re.findall(r'data-intent="([a-z_]+)"', page.content.decode())
    assert "escalate" in offered and "return" not in offered and "forward" not in offered
    refused = client.post(
        f"/workbench/cases/{case.public_id}/escalate",
        {"idempotency_key": str(uuid.uuid4()), "reason": ""},
        HTTP_HOST=host_of(county),
    )
    assert refused.status_code == 400 and in_unit(county, case).state == State.ACCEPTED
    connection.set_schema_to_public()
    done = client.post(
        f"/workbench/cases/{case.public_id}/escalate",
        {"idempotency_key": str(uuid.uuid4()), "reason": "涉及跨县经营"},
        HTTP_HOST=host_of(county),
    )
    assert done.status_code == 302 and in_unit(county, case).state == State.FORWARDED
    relay.relay()
    sign_in_with_second_factor(client, staff.of[city.code])
    page = client.get(f"/workbench/cases/{case.public_id}", HTTP_HOST=host_of(city))
    offered = re.findall(r'data-intent="([a-z_]+)"', page.content.decode())
    assert "return" in offered and "deliver" not in offered


@pytest.mark.parametrize(
    "body",
    [{"reason": "上报\x00原因"}, {"reason": "长" * 2001}, {"reason": 42}, {}, {"reason": ""}],
    ids=["nul", "over-long", "wrong-type", "missing", "empty"],
)
def test_bad_input_to_escalate_is_a_clear_error_and_changes_nothing(
    client, root, staff, county, body
):
    import json

    items = publish_item(root, [county])
    case = submitted_case(items[county.code], county, staff.citizen)
    actions.accept(case, actor=staff.of[county.code])
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, staff.of[county.code])
    answer = client.post(
        f"/api/v1/cases/{case.public_id}/escalate",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST=host_of(county),
    )
    assert 400 <= answer.status_code < 500, answer.content
    detail = json.dumps(answer.json(), ensure_ascii=False)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), detail  # said in Chinese
    assert in_unit(county, case).state == State.ACCEPTED
    connection.set_schema_to_public()
    assert not Handoff.objects.filter(case_public_id=case.public_id).exists()
    listing = client.get("/api/v1/handoffs", {"status": "bogus\x00"}, HTTP_HOST=host_of(county))
    assert listing.status_code == 400


def test_the_deciding_unit_gets_the_files_and_its_staff_can_read_them(
    client, root, staff, township, county, upload_folder
):
    from tenant_apps.cases.models import CaseFile
    from tenant_apps.cases.tests.conftest import GOOD_FORM, uploads
    from tests.test_uploads import PDF, upload

    items = publish_item(root, [county, township])
    joint = handoffs.set_decided_by(items[township.code], decided_by=county, actor=root)
    connection.set_tenant(township)
    draft = actions.save_draft(actor=staff.citizen, implementation=joint, form_data=GOOD_FORM)
    application = joint.materials.get(guide_material__name="申请书").guide_material_id
    scanned = actions.attach_file(
        draft, actor=staff.citizen, material_id=application, upload=upload("申请书.pdf", PDF)
    )
    entries = [
        {"material_id": application, "kind": "upload", "file_id": str(scanned.public_id),
         "sha256": scanned.sha256},
        *uploads(joint, "营业执照", case=draft),
    ]  # fmt: skip
    case = actions.submit(draft, actor=staff.citizen, materials=entries)
    actions.accept(case, actor=staff.of[township.code])
    actions.forward(case, actor=staff.of[township.code])
    assert relay.relay() == 1

    def files(unit):
        connection.set_tenant(unit)
        return sorted(
            CaseFile.objects.filter(case__public_id=case.public_id).values_list(
                "public_id", "material_id", "storage_name", "sha256", "size", "original_name"
            )
        )

    assert len(files(township)) == 2 and files(county) == files(township)
    there = in_unit(county, case)
    assert there.materials == case.materials  # the entries name the files there as well

    # The county's reviewer reads the scan on the county's site; another citizen can't.
    path = f"/cases/{case.public_id}/files/{scanned.public_id}"
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, staff.of[county.code])
    got = client.get(path, HTTP_HOST=host_of(county))
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    assert AuditEntry.objects.filter(
        action="cases.file_downloaded", tenant_code=county.code, target=case.number
    ).exists()
    client.force_login(staff.of[township.code])  # staff of the township, not of the county
    assert client.get(path, HTTP_HOST=host_of(county)).status_code == 404


def test_a_case_withdrawn_where_it_is_decided_is_withdrawn_where_it_waited(
    root, staff, township, county
):
    items = publish_item(root, [county, township])
    joint = handoffs.set_decided_by(items[township.code], decided_by=county, actor=root)
    case = submitted_case(joint, township, staff.citizen)
    actions.accept(case, actor=staff.of[township.code])
    actions.forward(case, actor=staff.of[township.code])
    # Where it waits, the applicant can't withdraw it: it is being handled at the county.
    with pytest.raises(transitions.CaseConflict):
        actions.withdraw(in_unit(township, case), actor=staff.citizen, reason="不办了")
    assert relay.relay() == 1

    there = in_unit(county, case)
    actions.withdraw(there, actor=staff.citizen, reason="不办了")
    assert in_unit(county, case).state == State.WITHDRAWN
    connection.set_schema_to_public()
    back = Handoff.objects.get(case_public_id=case.public_id, kind=Kind.JOINT_RESULT)
    assert (back.from_tenant, back.to_tenant) == (county, township)

    assert relay.relay() == 1
    waited = in_unit(township, case)
    assert (waited.state, waited.clock_state, waited.passed_to_id) == (
        State.WITHDRAWN,
        ClockState.STOPPED,
        None,
    )
    assert waited.closed_at is not None and waited.decision == ""
    connection.set_tenant(township)
    event = CaseEvent.objects.get(case=waited, handoff_id=back.pk)
    assert (event.intent, event.to_state) == ("receive_withdrawal", State.WITHDRAWN)
    assert index_rows(case) == [(township.pk, State.WITHDRAWN)]
