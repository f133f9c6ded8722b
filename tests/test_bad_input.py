"""Bad input gets a clear 4xx, never a server error (issue 8, item 8): every API error is a JSON
body `{"detail", "code"}` with a Chinese message, pages answer with a Chinese 400 page."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import sign_in_with_second_factor
from govplatform.api import portal_api, tenant_api
from shared_apps.accounts import actions as accounts
from shared_apps.accounts import verification
from shared_apps.accounts.models import Role, StaffMembership, User
from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import Implementation
from shared_apps.catalog.tests.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    county_admin,
    make_department,
    make_item,
    root,
)
from tests.helpers import host_of, make_id_number

PORTAL = settings.BASE_DOMAIN


def assert_api_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"detail", "code", "errors"} and body["detail"], body
    if code:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/catalog/items?q=%00",
        "/api/v1/tenants?q=a%00b",
        "/api/v1/route?item=%00&place=410102",
        "/api/v1/catalog/items/%00",
        "/api/v1/catalog/items?q=%ff%fe",  # not UTF-8
    ],
)
def test_nul_and_broken_utf8_in_portal_api_queries_are_400(client, db, path):
    body = assert_api_error(client.get(path, HTTP_HOST=PORTAL), 400, "bad_request")
    assert "无效字符" in body["detail"]


def test_nul_in_the_tenant_services_api_is_400(client, tenant):
    assert_api_error(
        client.get("/api/v1/services?q=%00", HTTP_HOST=host_of(tenant)), 400, "bad_request"
    )


@pytest.mark.parametrize("path", ["/services/?q=%00", "/services/?q=%C0%AF"])
def test_nul_in_a_page_query_gets_the_chinese_400_page(client, db, path):
    response = client.get(path, HTTP_HOST=PORTAL)
    assert response.status_code == 400
    assert "请求有误" in response.content.decode()


def test_nul_in_a_sign_in_name_is_refused(client, db):
    page = client.post(
        "/accounts/sign-in", {"username": "admin\x00", "password": "x"}, HTTP_HOST=PORTAL
    )
    assert page.status_code == 400 and "请求有误" in page.content.decode()
    for path, body in (
        ("/api/v1/auth/token", {"username": "admin\x00", "password": "x"}),
        ("/api/v1/auth/client-token", {"client_id": "c\x00", "client_secret": "x"}),
        ("/api/v1/auth/token", {"username": "admin", "password": "x", "otp": "\ud800"}),
        ("/api/v1/auth/token", {"username\x00": "admin", "password": "x"}),
    ):
        # json.dumps escapes them (\u0000, \ud800): JSON allows both, PostgreSQL stores neither.
        response = client.post(
            path, json.dumps(body), content_type="application/json", HTTP_HOST=PORTAL
        )
        assert_api_error(response, 400, "bad_request")


def test_over_long_sign_in_names_and_client_ids_are_invalid(client, db):
    for path, body in (
        ("/api/v1/auth/token", {"username": "a" * 300, "password": "x"}),
        ("/api/v1/auth/client-token", {"client_id": "c" * 300, "client_secret": "x"}),
    ):
        response = client.post(
            path, json.dumps(body), content_type="application/json", HTTP_HOST=PORTAL
        )
        assert_api_error(response, 422, "invalid")


def test_huge_numbers_and_odd_digits_are_invalid_not_500(client, db):
    assert_api_error(
        client.get("/api/v1/tenants?page=9223372036854775808", HTTP_HOST=PORTAL), 422, "invalid"
    )
    assert_api_error(client.get("/api/v1/catalog/items?level=²", HTTP_HOST=PORTAL), 422)
    assert_api_error(
        client.get("/api/v1/catalog/items?level=99999999999999999999", HTTP_HOST=PORTAL), 422
    )
    page = client.get("/services/?level=²", HTTP_HOST=PORTAL)
    assert page.status_code == 400 and "未知的行使层级" in page.content.decode()


def test_route_page_refuses_a_malformed_item_code(client, db):
    page = client.get("/services/route?item=a/b&place=410102", HTTP_HOST=PORTAL)
    assert page.status_code == 400 and "请求有误" in page.content.decode()


def test_unknown_api_paths_answer_in_the_error_shape(client, tenant):
    assert_api_error(client.get("/api/v1/no-such-thing", HTTP_HOST=PORTAL), 404, "not_found")
    assert_api_error(client.get("/api/v1/catalog/items/a/b", HTTP_HOST=PORTAL), 404, "not_found")
    assert_api_error(client.get("/api/v1/departments/99999999999", HTTP_HOST=host_of(tenant)), 404)


def test_a_method_the_api_does_not_have_is_405_in_the_shape(client, db):
    response = client.delete("/api/v1/catalog/items", HTTP_HOST=PORTAL)
    assert_api_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_invalid_json_and_auth_errors_are_chinese_in_the_shape(client, tenant):
    response = client.post(
        "/api/v1/auth/token", "{not json", content_type="application/json", HTTP_HOST=PORTAL
    )
    assert "JSON" in assert_api_error(response, 400, "bad_request")["detail"]
    body = assert_api_error(
        client.get("/api/v1/staff", HTTP_HOST=host_of(tenant)), 401, "not_authenticated"
    )
    assert body["detail"] == "请先登录，或提供有效的访问令牌。"
    missing = client.post(
        "/api/v1/auth/token", json.dumps({}), content_type="application/json", HTTP_HOST=PORTAL
    )
    body = assert_api_error(missing, 422, "invalid")
    assert {tuple(e["loc"])[-1] for e in body["errors"]} == {"username", "password"}


@pytest.fixture
def implement_request(client, make_item, county_admin, tenant):  # noqa: F811
    item = make_item()
    department = make_department(tenant)
    version = catalog.current_version(item)
    sign_in_with_second_factor(client, county_admin)
    good = {
        "item_code": item.code,
        "department_id": department.id,
        "promised_days": 10,
        "place": "中原区政务服务中心",
        "hours": "工作日",
        "enquiry_phone": "0371-1",
        "complaint_phone": "12345",
        "online_depth": 4,
        "material_ids": [m.id for m in version.materials.all()],
    }

    def post(**changes):
        return client.post(
            "/api/v1/services",
            json.dumps({**good, **changes}),
            content_type="application/json",
            HTTP_HOST=host_of(tenant),
        )

    post.good = good
    return post


def _nested(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


@pytest.mark.parametrize(
    "changes",
    [
        {"promised_days": -1},
        {"promised_days": 3651},  # 0 is a same-day item (即办件)
        {"promised_days": 2**63},
        {"online_depth": 0},
        {"online_depth": -5},
        {"place": "郑" * 301},
        {"hours": "x" * 201},
        {"department_id": 2**64},
        {"material_ids": [1, 1]},
        {"form_schema": _nested(500)},
        {"form_schema": _nested(20)},
        {
            "form_schema": {
                "type": "object",
                "properties": {
                    f"f{i}": {"type": "string", "title": "x" * 40} for i in range(29_000)
                },
            }
        },  # about 2.4 MB
    ],
    ids=lambda c: next(iter(c)),
)
def test_out_of_range_services_fields_are_4xx(implement_request, tenant, changes):
    response = implement_request(**changes)
    assert response.status_code in (400, 422), response.content[:500]
    assert_api_error(response, response.status_code)
    assert not Implementation.objects.filter(
        tenant=tenant, item__code=implement_request.good["item_code"]
    ).exists()


def test_a_body_over_the_upload_limit_is_413(implement_request):
    response = implement_request(place="x" * 3_000_000)
    assert_api_error(response, 413, "too_large")


def test_a_good_service_still_goes_through(implement_request, tenant):
    response = implement_request(form_schema=_nested(10))
    assert response.status_code == 201, response.content


def test_consent_expiry_without_a_timezone_is_invalid(client, county_admin, tenant):  # noqa: F811
    citizen = accounts.register_citizen(
        real_name="孙七",
        id_number=make_id_number(sequence="718"),
        phone="13500000071",
        password=PASSWORD,
    )
    agent = User.objects.create_user("agent-tz", password=PASSWORD)
    accounts.grant_role(actor=county_admin, user=agent, tenant=tenant, role=Role.PROXY_AGENT)
    sign_in_with_second_factor(client, county_admin)
    body = {
        "citizen_id_number": citizen.unmasked_id_number(),
        "agent_username": agent.username,
        "purpose": "代办社保",
        "evidence": "纸质授权书 001",
    }
    for until, status in (("2030-01-01T00:00:00", 422), ("9999-12-31T23:59:59-14:00", 422)):
        response = client.post(
            "/api/v1/proxy/consents",
            json.dumps({**body, "valid_until": until}),
            content_type="application/json",
            HTTP_HOST=host_of(tenant),
        )
        assert_api_error(response, status, "invalid")
    response = client.post(
        "/api/v1/proxy/consents",
        json.dumps({**body, "valid_until": (timezone.now() + timedelta(days=30)).isoformat()}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert response.status_code == 201, response.content


def test_revoke_with_a_non_number_on_the_staff_page_is_400(client, county_admin, tenant):  # noqa: F811
    sign_in_with_second_factor(client, county_admin)
    for bad in ("abc", "1" * 30, "١"):
        page = client.post("/staff", {"revoke": bad}, HTTP_HOST=host_of(tenant))
        assert page.status_code == 400, bad
    assert StaffMembership.objects.filter(user=county_admin, is_active=True).exists()


def test_a_sign_up_racing_another_with_the_same_phone_gets_a_form_error(client, db, monkeypatch):
    """The other sign-up commits between this one's checks and its insert (the window that
    verification, a call to an outside service, keeps open)."""

    class RacingVerifier(verification.FormatOnlyVerifier):
        def verify(self, **kwargs):
            User.objects.create_user("the-other-one", phone="13900000099", password=PASSWORD)
            return super().verify(**kwargs)

    monkeypatch.setattr(verification, "verifier", RacingVerifier)
    page = client.post(
        "/accounts/sign-up",
        {
            "real_name": "周八",
            "id_number": make_id_number(sequence="719"),
            "phone": "13900000099",
            "password": PASSWORD,
        },
        HTTP_HOST=PORTAL,
    )
    assert page.status_code == 200
    # The same answer as for any taken number: sign-up doesn't tell which numbers have accounts.
    assert "使用该身份证号码或手机号码的账号可能已存在" in page.content.decode()
    assert User.objects.filter(phone="13900000099").count() == 1


@pytest.mark.parametrize("api", [portal_api, tenant_api], ids=["portal", "tenant"])
def test_every_operation_documents_the_error_shape(api):
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    assert schema["components"]["schemas"]["ErrorOut"]["required"] == ["detail", "code"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in (400, 401, 403, 404, 422):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (
                    method,
                    path,
                    status,
                )
            # gunicorn or a proxy answers an over-long request line, with a body of its own.
            too_long = operation["responses"][414]
            assert too_long["description"] and "content" not in too_long, (method, path)


def test_role_grants_still_work_after_the_guard(client, county_admin, tenant, django_user_model):  # noqa: F811
    django_user_model.objects.create_user("clerk-z", password=PASSWORD, phone="13700000091")
    sign_in_with_second_factor(client, county_admin)
    response = client.post(
        "/staff",
        {"identifier": "13700000091", "role": Role.WINDOW_CLERK},
        HTTP_HOST=host_of(tenant),
    )
    # Granted: the page now shows the new staff member's enrolment link.
    assert response.status_code == 200
    assert StaffMembership.objects.filter(
        user__phone="13700000091", tenant=tenant, role=Role.WINDOW_CLERK, is_active=True
    ).exists()


def test_a_locked_out_api_sign_in_answers_in_the_error_shape(client, db, django_user_model):
    django_user_model.objects.create_user("locked-api", password=PASSWORD)
    wrong = json.dumps({"username": "locked-api", "password": "wrong"})
    statuses = [
        client.post("/api/v1/auth/token", wrong, content_type="application/json", HTTP_HOST=PORTAL)
        for _ in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    body = assert_api_error(statuses[-1], 429, "too_many_requests")
    assert body["detail"] == "登录失败次数过多，请稍后再试。"
    page = client.post(
        "/accounts/sign-in", {"username": "locked-api", "password": "wrong"}, HTTP_HOST=PORTAL
    )
    assert page.status_code == 429 and "尝试次数过多" in page.content.decode()


# Valid check character and birth date; its region code names only a province (北京), no county.
PROVINCE_ONLY = "119999199001010012"


def test_an_id_number_naming_no_county_is_refused_everywhere_not_500(client, db):
    form = {"username": PROVINCE_ONLY, "password": "x"}
    assert client.post("/accounts/sign-in", form, HTTP_HOST=PORTAL).status_code == 200
    token = client.post(
        "/api/v1/auth/token", json.dumps(form), content_type="application/json", HTTP_HOST=PORTAL
    )
    assert_api_error(token, 401)
    sign_up = client.post(
        "/accounts/sign-up",
        {
            "real_name": "周八",
            "id_number": PROVINCE_ONLY,
            "phone": "13900000098",
            "password": PASSWORD,
        },
        HTTP_HOST=PORTAL,
    )
    assert sign_up.status_code == 200 and "地区代码" in sign_up.content.decode()
    query = f"item=410101001000&id_number={PROVINCE_ONLY}"
    assert_api_error(client.get(f"/api/v1/route?{query}", HTTP_HOST=PORTAL), 422, "invalid")
    page = client.get(f"/services/route?{query}", HTTP_HOST=PORTAL)
    assert page.status_code == 400 and "地区代码" in page.content.decode()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_numbers_that_are_not_finite_are_400_not_500(client, implement_request, tenant, number):
    # Python's json reads them, PostgreSQL's json does not; json.dumps can't write 1e999.
    body = json.dumps({**implement_request.good, "form_schema": {"maximum": "N"}})
    response = client.post(
        "/api/v1/services",
        body.replace('"N"', number),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert "有限" in assert_api_error(response, 400, "bad_request")["detail"]
    assert not Implementation.objects.filter(
        tenant=tenant, item__code=implement_request.good["item_code"]
    ).exists()
