import json

import pytest

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
    assert response.status_code == 200 and response.json()[0]["username"] == "admin-a"
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("accounts_staffmembership" in s and "IN (" in s for s in statements) == 1, statements
    assert len(statements) == 3, statements  # token (with the SET search_path), roles, the list
    assert statements[0].startswith("SET search_path") and "accounts_apitoken" in statements[0]


def test_citizens_get_citizen_scopes_only(client, citizen, portal):
    tokens = post_json(
        client, "/api/v1/auth/token", {"username": citizen.phone, "password": PASSWORD}, **portal
    )
    assert sorted(tokens.json()["scopes"]) == ["departments:read", "profile"]
    asked = post_json(
        client,
        "/api/v1/auth/token",
        {"username": citizen.phone, "password": PASSWORD, "scopes": ["staff:read"]},
        **portal,
    )
    assert asked.status_code == 422
