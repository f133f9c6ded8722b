"""The e-license API and the public check page: verification tells genuine/status/issuer and
nothing about the holder; department systems issue; only the issuing unit changes a license."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.licenses.models import License
from shared_apps.licenses.tests.conftest import holder
from tenant_apps.cases import actions as cases
from tenant_apps.cases.tests.conftest import case_in
from tests.helpers import host_of, make_id_number

pytestmark = pytest.mark.django_db
PORTAL = settings.BASE_DOMAIN


def delivered_license(people, service, tenant):
    citizen = holder(people.users, name="钱多多")
    case = case_in("decided", service, tenant, citizen)
    case = cases.deliver(case, actor=people.clerk, method="electronic")
    connection.set_schema_to_public()
    return License.objects.get(issuer_tenant=tenant, case_number=case.number)


def test_public_verification_says_nothing_personal(client, people, service, license_type, tenant):
    license = delivered_license(people, service, tenant)
    answer = client.get(f"/api/v1/licenses/{license.identifier}/verification", HTTP_HOST=PORTAL)
    assert answer.status_code == 200
    body = answer.json()
    assert (
        body["genuine"] and body["status"] == "valid" and body["issuer_code"] == license.issuer_code
    )
    assert (
        "钱多多" not in answer.content.decode()
        and license.holder_id_masked not in answer.content.decode()
    )
    page = client.get(f"/licenses/check/{license.identifier}", HTTP_HOST=PORTAL)
    text = page.content.decode()
    assert page.status_code == 200 and 'id="license-genuine"' in text and "钱多多" not in text
    unknown = client.get("/api/v1/licenses/1.2.3/verification", HTTP_HOST=PORTAL).json()
    assert not unknown["found"] and "结构" in unknown["reason"]


def test_pdf_verification_api_and_page(client, people, service, license_type, tenant):
    license = delivered_license(people, service, tenant)
    pdf = bytes(license.pdf)
    answer = client.post(
        "/api/v1/licenses/verification",
        {"pdf": SimpleUploadedFile("证照.pdf", pdf, content_type="application/pdf")},
        HTTP_HOST=PORTAL,
    ).json()
    assert answer["genuine"] and answer["identifier"] == license.identifier
    position = pdf.index(b"/Title") + 8
    tampered = pdf[:position] + bytes([pdf[position] ^ 1]) + pdf[position + 1 :]
    page = client.post(
        "/licenses/check",
        {"pdf": SimpleUploadedFile("证照.pdf", tampered, content_type="application/pdf")},
        HTTP_HOST=PORTAL,
    )
    assert 'id="license-not-genuine"' in page.content.decode() and "改动" in page.content.decode()


def _staff(people, tenant, role, name):
    user = people.users.objects.create_user(name)
    accounts.grant_role(actor=people.root, user=user, tenant=tenant, role=role)
    return user


def test_department_system_issues_with_trust_grade_by_source(
    client, people, service, license_type, tenant
):
    approver = sign_in_with_second_factor(client, people.approver)
    assert approver is client
    body = {
        "type_code": license_type.code,
        "issuer_code": service.department_credit_code,
        "number": "豫食经2026-0001",
        "holder_kind": "person",
        "holder_name": "孙七",
        "holder_id_number": make_id_number(sequence="377"),
        "data": {"shop_name": "孙记面馆"},
        "source": "paper_conversion",
    }
    answer = client.post(
        "/api/v1/licenses",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["trust_grade"] == "B"
    issued = License.objects.get(identifier=answer.json()["identifier"])
    assert issued.source == "api" and issued.holder_id_masked.startswith("410")
    bad = {**body, "data": {"shop_name": 7}}
    answer = client.post(
        "/api/v1/licenses",
        json.dumps(bad),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert answer.status_code == 422 and answer.json()["code"] == "invalid"


def test_only_the_issuing_unit_revokes(client, people, service, license_type, tenant, other_tenant):
    license = delivered_license(people, service, tenant)
    stranger = _staff(people, other_tenant, Role.TENANT_ADMIN, "licence-other-admin")
    sign_in_with_second_factor(client, stranger)
    answer = client.post(
        f"/api/v1/licenses/{license.identifier}/revoke",
        json.dumps({"reason": "越权撤销"}),
        content_type="application/json",
        HTTP_HOST=host_of(other_tenant),
    )
    assert answer.status_code == 404
    # Their own unit's host with their own role: 403 there, before anything is read.
    answer = client.post(
        f"/api/v1/licenses/{license.identifier}/revoke",
        json.dumps({"reason": "越权撤销"}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert answer.status_code == 403
    sign_in_with_second_factor(client, people.head)
    answer = client.post(
        f"/api/v1/licenses/{license.identifier}/revoke",
        json.dumps({"reason": "以欺骗手段取得许可"}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert answer.status_code == 200 and answer.json()["status"] == "revoked"
    check = client.get(f"/api/v1/licenses/{license.identifier}/verification", HTTP_HOST=PORTAL)
    assert check.json()["status"] == "revoked" and check.json()["status_text"] == "已撤销"


def test_check_forms_take_any_typed_text(client):
    answer = client.post("/licenses/check", {"identifier": "1.2/3"}, HTTP_HOST=PORTAL)
    assert answer.status_code == 200 and "结构" in answer.content.decode()
    answer = client.post("/licenses/check", {"identifier": "x" * 5000}, HTTP_HOST=PORTAL)
    assert answer.status_code == 302
    answer = client.post("/licenses/shared", {"code": "AB/CD"}, HTTP_HOST=PORTAL)
    assert answer.status_code == 200
    answer = client.get("/licenses/check/" + "9" * 300, HTTP_HOST=PORTAL)
    assert answer.status_code == 200 and 'id="license-not-genuine"' in answer.content.decode()
