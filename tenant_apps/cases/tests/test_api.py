"""The case API: applying with field errors in Chinese, who sees which case, another unit's clerk,
idempotent retries."""

import json

import pytest
from django.db import connection

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from tenant_apps.cases.models import Case, CaseEvent
from tenant_apps.cases.tests.conftest import GOOD_FORM, REQUIRED, submitted_case, uploads
from tests.helpers import host_of


def post(client, path, tenant, body=None, **headers):
    return client.post(
        path,
        data=json.dumps(body or {}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
        **headers,
    )


def test_applying_online_with_errors_beside_the_fields(client, people, service, tenant):
    client.force_login(people.citizen)
    started = post(
        client,
        "/api/v1/my/cases",
        tenant,
        {"implementation_code": service.code, "form_data": {"shop_name": 7, "colour": "红"}},
    )
    assert started.status_code == 422
    errors = {tuple(e["loc"]): e["msg"] for e in started.json()["errors"]}
    assert errors == {
        ("body", "form_data.shop_name"): "数据类型不正确（应为 string）。",
        ("body", "form_data.colour"): "表单中没有此项。",
    }
    started = post(
        client,
        "/api/v1/my/cases",
        tenant,
        {"implementation_code": service.code, "form_data": {"shop_name": "老王烩面馆"}},
    )
    assert started.status_code == 201, started.content
    draft = started.json()
    assert draft["state"] == "draft" and draft["number"] is None
    assert draft["intents"] == ["save_draft", "submit", "withdraw"]
    path = f"/api/v1/my/cases/{draft['id']}"
    connection.set_tenant(tenant)
    draft_case = Case.objects.get(public_id=draft["id"])
    # Submitting needs the whole form and every required material; nothing beyond the guide.
    refused = post(
        client, f"{path}/submit", tenant, {"materials": uploads(service, "申请书", case=draft_case)}
    )
    assert refused.status_code == 422
    messages = [e["msg"] for e in refused.json()["errors"]]
    assert "此项为必填项。" in messages  # area
    beyond = post(
        client,
        f"{path}/submit",
        tenant,
        {
            "form_data": GOOD_FORM,
            "materials": [
                {"material_id": 2**40, "kind": "upload", "file_id": "x", "sha256": "0" * 64}
            ],
        },
    )
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["msg"] == "该事项的办事指南未要求此材料。"
    missing = post(
        client,
        f"{path}/submit",
        tenant,
        {"form_data": GOOD_FORM, "materials": uploads(service, "申请书", case=draft_case)},
    )
    assert "缺少必交材料：营业执照" in missing.json()["detail"]
    submitted = post(
        client,
        f"{path}/submit",
        tenant,
        {"form_data": GOOD_FORM, "materials": uploads(service, *REQUIRED, case=draft_case)},
    )
    assert submitted.status_code == 200, submitted.content
    case = submitted.json()
    assert case["state"] == "submitted" and case["state_label"] == "已提交"
    assert case["number"].startswith(service.code) and len(case["number"]) == 43
    history = client.get(f"{path}/events", HTTP_HOST=host_of(tenant)).json()
    assert [(e["intent"], e["to_state"], e["channel"]) for e in history] == [
        ("save_draft", "draft", "online"),
        ("save_draft", "draft", "online"),
        ("submit", "submitted", "online"),
    ][-len(history) :]
    listing = client.get("/api/v1/my/cases", HTTP_HOST=host_of(tenant)).json()
    assert listing["count"] == 1 and listing["items"][0]["number"] == case["number"]


def test_a_citizen_cannot_see_another_citizens_case(client, people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    client.force_login(people.other_citizen)
    host = host_of(tenant)
    assert client.get(f"/api/v1/my/cases/{case.public_id}", HTTP_HOST=host).status_code == 404
    assert (
        client.get(f"/api/v1/my/cases/{case.public_id}/events", HTTP_HOST=host).status_code == 404
    )
    assert client.get("/api/v1/my/cases", HTTP_HOST=host).json()["count"] == 0
    assert post(client, f"/api/v1/my/cases/{case.public_id}/withdraw", tenant).status_code == 404
    # Nor through the staff side.
    assert client.get(f"/api/v1/cases/{case.public_id}", HTTP_HOST=host).status_code == 403
    assert client.get("/api/v1/cases", HTTP_HOST=host).status_code == 403
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).state == "submitted"


def test_a_clerk_of_another_unit_cannot_act_whatever_host_or_id(
    client, people, service, tenant, other_tenant
):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    foreign = people.staff("gulou-clerk", Role.WINDOW_CLERK, tenant=other_tenant)
    sign_in_with_second_factor(client, foreign)
    path = f"/api/v1/cases/{case.public_id}"
    # At the case's unit: no role there.
    assert post(client, f"{path}/accept", tenant).status_code == 403
    assert client.get(path, HTTP_HOST=host_of(tenant)).status_code == 403
    # At their own unit with the case's id: it is not there.
    assert post(client, f"{path}/accept", other_tenant).status_code == 404
    assert client.get(path, HTTP_HOST=host_of(other_tenant)).status_code == 404
    listing = client.get("/api/v1/cases", HTTP_HOST=host_of(other_tenant)).json()
    assert case.number not in {item["number"] for item in listing["items"]}
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).state == "submitted"


def test_an_idempotent_retry_returns_the_first_reply_and_applies_once(
    client, people, service, tenant
):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.clerk)
    path = f"/api/v1/cases/{case.public_id}/accept"
    before = AuditEntry.objects.filter(action="cases.accept").count()
    first = post(client, path, tenant, HTTP_IDEMPOTENCY_KEY="accept-7f3a")
    retry = post(client, path, tenant, HTTP_IDEMPOTENCY_KEY="accept-7f3a")
    assert first.status_code == retry.status_code == 200
    assert first.json() == retry.json() and first.json()["state"] == "accepted"
    assert AuditEntry.objects.filter(action="cases.accept").count() == before + 1
    connection.set_tenant(tenant)
    assert CaseEvent.objects.filter(case_id=case.pk, intent="accept").count() == 1
    connection.set_schema_to_public()
    # Without the key, a repeat is a conflict with a clear message.
    again = post(client, path, tenant)
    assert again.status_code == 409 and "已受理" in again.json()["detail"]
    assert again.json()["code"] == "conflict"
    # The same key for another request is refused.
    other = post(
        client,
        f"/api/v1/cases/{case.public_id}/reject",
        tenant,
        {"reasons": "不属于本机关职权"},
        HTTP_IDEMPOTENCY_KEY="accept-7f3a",
    )
    assert other.status_code == 409
    assert post(client, path, tenant, HTTP_IDEMPOTENCY_KEY="坏的键").status_code in (400, 422)


@pytest.mark.parametrize("bad", ["x" * 2001, "有\x00空字符"])
def test_bad_reasons_get_a_clear_error(client, people, service, tenant, bad):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.clerk)
    refused = client.post(
        f"/api/v1/cases/{case.public_id}/reject",
        data=json.dumps({"reasons": bad}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert refused.status_code in (400, 422)
    assert refused.json()["code"] in ("bad_request", "invalid")


def test_staff_queues_page_with_totals(client, people, service, tenant):
    for _ in range(3):
        submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.clerk)
    page = client.get(
        "/api/v1/cases?queue=to_accept&page_size=2&page=1", HTTP_HOST=host_of(tenant)
    ).json()
    assert page["count"] == 3 and len(page["items"]) == 2
    rest = client.get(
        "/api/v1/cases?queue=to_accept&page_size=2&page=2", HTTP_HOST=host_of(tenant)
    ).json()
    assert len(rest["items"]) == 1
    assert client.get("/api/v1/cases?queue=nonsense", HTTP_HOST=host_of(tenant)).status_code == 422
