import json

import pytest
from django.conf import settings

from shared_apps.accounts import actions
from shared_apps.accounts.models import Role
from tests.helpers import current_totp, host_of, make_id_number

PASSWORD = "正确的马电池订书钉"


@pytest.fixture
def portal(settings):
    return {"HTTP_HOST": settings.BASE_DOMAIN}


def post_json(client, path, body, **extra):
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def citizen(db):
    return actions.register_citizen(
        real_name="张三",
        id_number=make_id_number(sequence="131"),
        phone="13600000001",
        password=PASSWORD,
    )


@pytest.fixture
def county_admin(django_user_model, tenant):
    """中原区's administrator, with a confirmed authenticator app."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    admin = django_user_model.objects.create_user("admin-a", password=PASSWORD)
    actions.grant_role(actor=root, user=admin, tenant=tenant, role=Role.TENANT_ADMIN)
    TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    return admin


def test_tokens_issue_refresh_rotate_and_revoke(client, citizen, portal):
    issued = post_json(
        client, "/api/v1/auth/token", {"username": citizen.phone, "password": PASSWORD}, **portal
    )
    assert issued.status_code == 200, issued.content
    tokens = issued.json()
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", **portal)
    assert me.status_code == 200 and me.json()["id_number"].startswith("410***")

    rotated = post_json(
        client, "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}, **portal
    )
    assert rotated.status_code == 200
    again = post_json(
        client, "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}, **portal
    )
    assert again.status_code == 401  # a refresh token is used once

    new_access = rotated.json()["access_token"]
    post_json(client, "/api/v1/auth/revoke", {"refresh_token": new_access}, **portal)
    assert (
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {new_access}", **portal).status_code
        == 401
    )


def test_sign_out_everywhere_voids_tokens(client, citizen, portal):
    tokens = post_json(
        client, "/api/v1/auth/token", {"username": citizen.phone, "password": PASSWORD}, **portal
    ).json()
    actions.sign_out_everywhere(citizen)
    assert (
        client.get(
            "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", **portal
        ).status_code
        == 401
    )


def test_wrong_password_and_missing_scope(client, citizen, portal):
    assert (
        post_json(
            client, "/api/v1/auth/token", {"username": citizen.phone, "password": "nope"}, **portal
        ).status_code
        == 401
    )
    tokens = post_json(
        client,
        "/api/v1/auth/token",
        {"username": citizen.phone, "password": PASSWORD, "scopes": ["departments:read"]},
        **portal,
    ).json()
    assert (
        client.get(
            "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", **portal
        ).status_code
        == 403
    )


def test_staff_tokens_need_the_second_factor(client, county_admin, tenant, other_tenant, portal):
    admin = county_admin
    body = {"username": "admin-a", "password": PASSWORD, "scopes": ["departments:write"]}
    assert post_json(client, "/api/v1/auth/token", body, **portal).status_code == 401
    tokens = post_json(
        client, "/api/v1/auth/token", {**body, "otp": current_totp(admin)}, **portal
    ).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    department = {"name": "民政局", "credit_code": "11410102MB00000129"}
    assert (
        post_json(
            client, "/api/v1/departments", department, HTTP_HOST=host_of(tenant), **bearer
        ).status_code
        == 201
    )
    assert (
        post_json(
            client, "/api/v1/departments", department, HTTP_HOST=host_of(other_tenant), **bearer
        ).status_code
        == 403
    )


def test_system_client_is_bound_to_its_unit_and_scopes(
    client, django_user_model, tenant, other_tenant, portal
):
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    system, secret = actions.create_system_client(
        actor=root, name="市场监管业务系统", scopes=["departments:write"], tenant=tenant
    )
    assert (
        post_json(
            client,
            "/api/v1/auth/client-token",
            {"client_id": system.client_id, "client_secret": "x"},
            **portal,
        ).status_code
        == 401
    )
    token = post_json(
        client,
        "/api/v1/auth/client-token",
        {"client_id": system.client_id, "client_secret": secret},
        **portal,
    ).json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    department = {"name": "市场监督管理局", "credit_code": "11410102MB00000129"}
    assert (
        post_json(
            client, "/api/v1/departments", department, HTTP_HOST=host_of(tenant), **bearer
        ).status_code
        == 201
    )
    assert (
        post_json(
            client, "/api/v1/departments", department, HTTP_HOST=host_of(other_tenant), **bearer
        ).status_code
        == 403
    )
    too_much = post_json(
        client,
        "/api/v1/auth/client-token",
        {"client_id": system.client_id, "client_secret": secret, "scopes": ["profile"]},
        **portal,
    )
    assert too_much.status_code == 422


def test_openapi_documents_the_bearer_scheme():
    from tenants.management.commands.export_openapi import render

    for name in ("portal.json", "tenant.json"):
        schemes = json.loads(render(name))["components"]["securitySchemes"]
        assert any(s.get("scheme") == "bearer" for s in schemes.values()), schemes


def test_authorization_costs_one_query(client, county_admin, tenant, portal):
    """Token-authenticated staff call: the token (authentication), the roles (authorization), the
    data; the request's `SET search_path` travels with the first of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = county_admin
    body = {
        "username": "admin-a",
        "password": PASSWORD,
        "otp": current_totp(admin),
        "scopes": ["staff:read"],
    }
    token = post_json(client, "/api/v1/auth/token", body, **portal).json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": host_of(tenant)}
    client.get("/api/v1/staff", **bearer)  # warm the host map
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/staff", **bearer)
    assert response.status_code == 200 and response.json()["items"][0]["username"] == "admin-a"
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("accounts_staffmembership" in s and "IN (" in s for s in statements) == 1, statements
    # The token (with the SET search_path), the roles, the list's total and its page.
    assert len(statements) == 4, statements
    assert statements[0].startswith("SET search_path") and "accounts_apitoken" in statements[0]


def test_citizens_get_citizen_scopes_only(client, citizen, portal):
    tokens = post_json(
        client, "/api/v1/auth/token", {"username": citizen.phone, "password": PASSWORD}, **portal
    )
    assert sorted(tokens.json()["scopes"]) == ["cases:apply", "departments:read", "profile"]
    asked = post_json(
        client,
        "/api/v1/auth/token",
        {"username": citizen.phone, "password": PASSWORD, "scopes": ["staff:read"]},
        **portal,
    )
    assert asked.status_code == 422


# --- Issue 8: sign-in names, lock-out and floods on the API; token families; empty scopes -------


def token_request(client, username, password=PASSWORD, **extra):
    return post_json(
        client,
        "/api/v1/auth/token",
        {"username": username, "password": password, **extra},
        HTTP_HOST=settings.BASE_DOMAIN,
    )


def test_over_long_name_cannot_guess_without_limit(client, citizen):
    """The attack of issue 8: 250 spaces before the phone number made axes fail (500) and count
    nothing, while the account was still found; the right password then got tokens."""
    padded = " " * 250 + citizen.phone
    answers = [token_request(client, padded, "wrong").status_code for _ in range(7)]
    assert 500 not in answers
    assert answers[-1] == 429  # locked out like any other form of the account
    assert token_request(client, padded).status_code == 429
    assert token_request(client, citizen.phone).status_code == 429


@pytest.mark.parametrize("name", [" " * 151 + "1", "1" * 151, "\x00", "", "１３６" + "\x00" * 300])
def test_over_long_or_nul_names_are_refused_before_sign_in(client, db, name):
    assert token_request(client, name).status_code in (400, 401, 422)  # 400: a NUL in the JSON
    from axes.models import AccessAttempt

    assert all(len(a.username) <= 150 for a in AccessAttempt.objects.all())


def test_full_width_and_padded_names_sign_in(client, citizen):
    full_width = citizen.phone.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert token_request(client, f"\u3000{full_width} ").status_code == 200


def test_lock_out_on_the_api_holds_for_every_written_form(client, citizen):
    number = citizen.unmasked_id_number()
    tried = [citizen.phone, number, f" {citizen.phone} ", citizen.username.upper(), number]
    for name in tried:
        token_request(client, name, "wrong")
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for name in (citizen.phone, number, citizen.username, full_width, f"  {number.lower()}"):
        assert token_request(client, name).status_code == 429, name


def test_staff_answer_does_not_confirm_the_password(client, county_admin):
    wrong_password = token_request(client, "admin-a", "wrong")
    no_code = token_request(client, "admin-a")
    wrong_code = token_request(client, "ADMIN-A", otp="000000")
    assert wrong_password.status_code == no_code.status_code == wrong_code.status_code == 401
    assert wrong_password.json() == no_code.json() == wrong_code.json()


def test_missing_codes_count_towards_the_lock_out(client, county_admin):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_request(client, "admin-a")  # the right password, no code
    assert token_request(client, "admin-a", otp=current_totp(county_admin)).status_code == 429


def test_token_endpoint_is_rate_limited_per_address(client, citizen, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sign-in": ("2/h", "POST", ["portal-api:token", "portal-api:refresh"]),
    }
    assert token_request(client, citizen.phone).status_code == 200
    assert token_request(client, citizen.phone, "wrong").status_code == 401
    limited = token_request(client, citizen.phone)
    assert limited.status_code == 429 and limited.json()["detail"]
    assert "Retry-After" in limited


def test_replaying_a_rotated_refresh_token_revokes_its_family(client, citizen, portal):
    first = token_request(client, citizen.phone).json()
    other_sign_in = token_request(client, citizen.phone).json()  # another device: its own family
    second = post_json(
        client, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, **portal
    ).json()
    # The stolen, already used token comes back: refused, and the thief's or owner's successor
    # tokens die with it.
    replay = post_json(
        client, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, **portal
    )
    assert replay.status_code == 401
    assert (
        post_json(
            client, "/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]}, **portal
        ).status_code
        == 401
    )
    for access in (first["access_token"], second["access_token"]):
        me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {access}", **portal)
        assert me.status_code == 401
    me = client.get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {other_sign_in['access_token']}", **portal
    )
    assert me.status_code == 200
    from shared_apps.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="accounts.refresh_token_reused").exists()


def test_empty_scope_list_grants_nothing(client, citizen, county_admin, portal):
    citizen_token = token_request(client, citizen.phone, scopes=[])
    assert citizen_token.status_code == 200 and citizen_token.json()["scopes"] == []
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {citizen_token.json()['access_token']}"}
    assert client.get("/api/v1/me", **bearer, **portal).status_code == 403
    rotated = post_json(
        client,
        "/api/v1/auth/refresh",
        {"refresh_token": citizen_token.json()["refresh_token"]},
        **portal,
    )
    assert rotated.json()["scopes"] == []  # and a refresh does not widen it

    staff = token_request(client, "admin-a", otp=current_totp(county_admin), scopes=[]).json()
    assert staff["scopes"] == []


def test_system_client_with_empty_scopes_gets_none(client, provincial_admin, portal):
    system, secret = actions.create_system_client(actor=provincial_admin, name="空", scopes=[])
    assert system.scopes == []
    token = post_json(
        client,
        "/api/v1/auth/client-token",
        {"client_id": system.client_id, "client_secret": secret, "scopes": []},
        **portal,
    ).json()
    assert token["scopes"] == []


@pytest.mark.parametrize("client_id", ["sys-\x00", "x" * 41, "sys-1234; DROP"])
def test_malformed_client_ids_are_refused(client, db, portal, client_id):
    body = {"client_id": client_id, "client_secret": "x"}
    status = post_json(client, "/api/v1/auth/client-token", body, **portal).status_code
    assert status == (400 if "\x00" in client_id else 422)
