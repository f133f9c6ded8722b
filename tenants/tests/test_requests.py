import json
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import sign_in_with_second_factor
from tenants import actions
from tenants.hosts import host_map
from tests.helpers import host_of

VALID_CREDIT_CODE = "11410102MB00000129"  # checksum-valid unified social credit code


@pytest.fixture
def admin_client(client, provincial_admin):
    return sign_in_with_second_factor(client, provincial_admin)


def test_row_created_through_one_host_is_invisible_through_another(
    admin_client, tenant, other_tenant
):
    created = admin_client.post(
        "/api/v1/departments",
        data=json.dumps({"name": "市场监督管理局", "credit_code": VALID_CREDIT_CODE}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert created.status_code == 201, created.content
    row_id = created.json()["id"]

    on_a = admin_client.get(f"/api/v1/departments/{row_id}", HTTP_HOST=host_of(tenant))
    assert on_a.status_code == 200 and on_a.json()["name"] == "市场监督管理局"
    # B's host with A's id: not found, and not in B's list.
    on_b = admin_client.get(f"/api/v1/departments/{row_id}", HTTP_HOST=host_of(other_tenant))
    assert on_b.status_code == 404
    listing = admin_client.get("/api/v1/departments", HTTP_HOST=host_of(other_tenant)).json()[
        "items"
    ]
    assert all(d["credit_code"] != VALID_CREDIT_CODE for d in listing)


def test_invalid_credit_code_gets_a_clear_chinese_error(admin_client, tenant):
    response = admin_client.post(
        "/api/v1/departments",
        data=json.dumps({"name": "民政局", "credit_code": "11410102MB0000012X"}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert response.status_code == 422
    assert "统一社会信用代码" in response.json()["detail"]


def test_only_the_units_administrators_add_departments(
    client, django_user_model, provincial_admin, tenant
):
    from shared_apps.accounts.actions import grant_role
    from shared_apps.accounts.models import Role

    def add(user):
        sign_in_with_second_factor(client, user)
        return client.post(
            "/api/v1/departments",
            data=json.dumps({"name": "民政局", "credit_code": VALID_CREDIT_CODE}),
            content_type="application/json",
            HTTP_HOST=host_of(tenant),
        ).status_code

    clerk = django_user_model.objects.create_user("clerk", password="a long enough password")
    grant_role(actor=provincial_admin, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
    assert add(clerk) == 403
    administrator = django_user_model.objects.create_user("unit-admin", password="long enough 1")
    grant_role(actor=provincial_admin, user=administrator, tenant=tenant, role=Role.TENANT_ADMIN)
    assert add(administrator) == 201


def test_unknown_host_gets_a_404_page(client, db):
    response = client.get("/", HTTP_HOST=f"nowhere.{settings.BASE_DOMAIN}")
    assert response.status_code == 404
    assert "未找到" in response.content.decode()


def test_suspended_and_retired_tenants_say_so(client, tenant, provincial_admin):
    actions.suspend_tenant(tenant, actor=provincial_admin, reason="系统维护")
    response = client.get("/", HTTP_HOST=host_of(tenant))
    assert response.status_code == 503
    assert "暂停" in response.content.decode() and "系统维护" in response.content.decode()

    actions.resume_tenant(tenant, actor=provincial_admin)
    assert client.get("/", HTTP_HOST=host_of(tenant)).status_code == 200

    tenant.status = tenant.Status.RETIRED
    tenant.save()
    host_map.invalidate()
    response = client.get("/", HTTP_HOST=host_of(tenant))
    assert response.status_code == 410 and "撤销" in response.content.decode()


def test_status_changes_are_audited(tenant, provincial_admin):
    from shared_apps.audit.models import AuditEntry

    actions.suspend_tenant(tenant, actor=provincial_admin, reason="整改")
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.tenant_code) == (
        "tenants.suspend",
        "province-admin",
        tenant.code,
    )


def test_portal_and_tenant_pages(client, tenant):
    portal = client.get("/", HTTP_HOST=settings.BASE_DOMAIN)
    assert portal.status_code == 200 and "郑州市" in portal.content.decode()
    page = client.get("/", HTTP_HOST=host_of(tenant))
    assert page.status_code == 200
    body = page.content.decode()
    assert "中原区" in body and "林山寨街道" in body  # its name and a unit below it


def test_tenant_lookup_needs_no_query_and_one_search_path(client, tenant):
    client.get("/api/v1/departments", HTTP_HOST=host_of(tenant))  # warm the host map
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/departments", HTTP_HOST=host_of(tenant))
    assert response.status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert not any("tenants_" in s for s in statements), statements
    assert sum(s.startswith("SET search_path") for s in statements) == 1, statements


def test_host_map_follows_changes_made_elsewhere(db, tenant):
    """A change committed by another process reaches this one through NOTIFY."""
    host_map.match(host_of(tenant))  # starts the listener
    time.sleep(0.5)
    loads = host_map.loads
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("UPDATE tenants_tenant SET name = name WHERE code = %s", [tenant.code])
    deadline = time.monotonic() + 5
    while host_map._by_subdomain is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host_map._by_subdomain is None, "the listener did not clear the map"
    host_map.match(host_of(tenant))
    assert host_map.loads == loads + 1


def test_connection_counts_the_schemas_it_entered(settings, db, tenant, other_tenant):
    settings.TENANT_SCHEMAS_PER_CONNECTION = 1
    connection.schemas_entered = set()
    connection.set_tenant(tenant)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert (
        tenant.schema_name in connection.schemas_entered
        and "public" not in connection.schemas_entered
    )
    assert not connection.has_visited_too_many_schemas()
    connection.set_tenant(other_tenant)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.has_visited_too_many_schemas()
