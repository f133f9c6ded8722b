"""Consultations and complaints (issue 14 item 3): routed by item, case or place, answered by the
unit responsible, passed to the unit above when overdue; a complaint about a case stays visible to
the case's unit; another unit can't answer."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.consultations import actions
from shared_apps.consultations.models import Consultation
from tenant_apps.cases import clock
from tenant_apps.cases.tests.conftest import case_in, publish_service
from tests.helpers import host_of


def test_a_consultation_about_an_item_is_routed_to_the_unit_implementing_it(
    client, people, root, tenant, other_tenant, settings
):
    settings.CONSULTATION_ANSWER_DAYS = 5
    service = publish_service(root, other_tenant)  # 鼓楼区 implements it
    from django.db import connection

    connection.set_tenant(tenant)  # asked on 中原区's site, anonymously
    asked = client.post(
        "/api/v1/consultations",
        {"subject": "办理时间", "question": "周末能办吗？", "implementation_code": service.code},
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert asked.status_code == 201, asked.content
    row = Consultation.objects.get(public_id=asked.json()["id"])
    assert (row.tenant_id, row.department_id, row.asker_id) == (
        other_tenant.id,
        service.department_id,
        None,
    )
    assert row.due_at == clock.end_of(clock.add_working_days(clock.local_day(row.asked_at), 5))
    assert AuditEntry.objects.filter(action="consultations.ask", target=str(row.public_id)).get()
    # Its unit answers; the unit it was asked on can't.
    here = people.staff("consult-here", Role.WINDOW_CLERK)
    with pytest.raises(PermissionDenied):
        actions.answer(row, actor=here, text="可以")
    there = people.staff("consult-there", Role.WINDOW_CLERK, tenant=other_tenant)
    sign_in_with_second_factor(client, here)
    path = f"/api/v1/consultations/{row.public_id}/answer"
    assert (
        client.post(
            path, {"answer": "可以"}, content_type="application/json", HTTP_HOST=host_of(tenant)
        ).status_code
        == 404
    )
    client.logout()
    sign_in_with_second_factor(client, there)
    answered = client.post(
        path,
        {"answer": "周六上午可以办理"},
        content_type="application/json",
        HTTP_HOST=host_of(other_tenant),
    )
    assert answered.status_code == 200 and answered.json()["answer"] == "周六上午可以办理"
    row.refresh_from_db()
    assert row.answered_on_time is True
    again = client.post(
        path, {"answer": "再答"}, content_type="application/json", HTTP_HOST=host_of(other_tenant)
    )
    assert again.status_code == 409


def test_complaints_need_a_person_and_bad_input_is_refused(people, tenant):
    from django.db import connection

    connection.set_tenant(tenant)
    with pytest.raises(PermissionDenied):
        actions.ask(actor=None, kind="complaint", subject="投诉", question="态度差")
    for subject, question in (("", "x"), ("主题", ""), ("主题\x00", "x"), ("主题", "长" * 2001)):
        with pytest.raises(ValidationError):
            actions.ask(
                actor=people.citizen, kind="consultation", subject=subject, question=question
            )
    with pytest.raises(ValidationError):
        actions.ask(actor=people.citizen, kind="praise", subject="x", question="x")


def test_a_complaint_about_a_case_goes_to_its_department_and_stays_visible(
    client, people, service, tenant
):
    from django.db import connection

    case = case_in("under_review", service, tenant, people.citizen)
    connection.set_tenant(tenant)
    with pytest.raises(PermissionDenied):
        actions.ask(
            actor=people.other_citizen, kind="complaint", subject="x", question="x", case=case
        )
    row = actions.ask(
        actor=people.citizen, kind="complaint", subject="推诿", question="一直不审", case=case
    )
    assert (row.tenant_id, row.department_id, row.case_number) == (
        tenant.id,
        case.department_id,
        case.number,
    )
    # Overdue: passed to the unit above (郑州市), still listed for the case's unit's supervisors.
    Consultation.objects.filter(pk=row.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert actions.escalate_overdue() >= 1
    row.refresh_from_db()
    assert (row.tenant_id, row.escalations, row.department_id) == (tenant.parent_id, 1, None)
    assert row.due_at > timezone.now()
    assert AuditEntry.objects.filter(action="consultations.escalated").exists()
    supervisor = people.staff("consult-supervisor", Role.SUPERVISOR)
    sign_in_with_second_factor(client, supervisor)
    listed = client.get("/api/v1/consultations?page_size=100", HTTP_HOST=host_of(tenant)).json()
    assert str(row.public_id) in {item["id"] for item in listed["items"]}
    above = client.get("/api/v1/consultations", HTTP_HOST=host_of(tenant.parent))
    assert above.status_code == 403  # a supervisor of the county only
    client.logout()
    client.force_login(people.citizen)
    mine = client.get("/api/v1/my/consultations", HTTP_HOST=host_of(tenant)).json()
    assert [item["subject"] for item in mine["items"] if item["id"] == str(row.public_id)] == [
        "推诿"
    ]


def test_an_answered_or_not_yet_due_one_is_not_escalated(people, tenant):
    from django.db import connection

    connection.set_tenant(tenant)
    waiting = actions.ask(actor=people.citizen, kind="suggestion", subject="建议", question="延时")
    answered = actions.ask(actor=people.citizen, kind="consultation", subject="问", question="问")
    clerk = people.staff("consult-clerk", Role.WINDOW_CLERK)
    actions.answer(answered, actor=clerk, text="答")
    Consultation.objects.filter(pk=answered.pk).update(due_at=timezone.now() - timedelta(days=1))
    actions.escalate_overdue()
    waiting.refresh_from_db()
    answered.refresh_from_db()
    assert waiting.tenant_id == answered.tenant_id == tenant.id
    assert waiting.escalations == answered.escalations == 0
