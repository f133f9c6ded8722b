import json

from django.conf import settings

from conftest import sign_in_with_second_factor
from tenants.models import Tenant


def test_units_are_listed_with_their_addresses(client, db):
    cities = client.get("/api/v1/tenants?level=city", HTTP_HOST=settings.BASE_DOMAIN).json()[
        "items"
    ]
    assert [c["name"] for c in cities] == ["郑州市", "开封市"]
    assert cities[0]["url"] == f"http://zhengzhou.{settings.BASE_DOMAIN}/"
    below = client.get(
        "/api/v1/tenants?parent=410102000000", HTTP_HOST=settings.BASE_DOMAIN
    ).json()["items"]
    assert {u["code"] for u in below} == {"410102001000", "410102002000"}
    unit = client.get("/api/v1/tenants/419001000000", HTTP_HOST=settings.BASE_DOMAIN).json()
    assert (unit["level"], unit["parent_code"]) == ("county", "410000000000")
    assert (
        client.get("/api/v1/tenants/419999000000", HTTP_HOST=settings.BASE_DOMAIN).status_code
        == 404
    )


def test_suspend_and_resume_are_for_provincial_admins(
    client, django_user_model, provincial_admin, tenant
):
    url = f"/api/v1/tenants/{tenant.code}/suspend"
    body = json.dumps({"reason": "系统升级"})
    assert (
        client.post(
            url, body, content_type="application/json", HTTP_HOST=settings.BASE_DOMAIN
        ).status_code
        == 401
    )
    clerk = django_user_model.objects.create_user("clerk", password="a long enough password")
    client.force_login(clerk)
    assert (
        client.post(
            url, body, content_type="application/json", HTTP_HOST=settings.BASE_DOMAIN
        ).status_code
        == 403
    )
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE

    sign_in_with_second_factor(client, provincial_admin)
    suspended = client.post(
        url, body, content_type="application/json", HTTP_HOST=settings.BASE_DOMAIN
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    resumed = client.post(f"/api/v1/tenants/{tenant.code}/resume", HTTP_HOST=settings.BASE_DOMAIN)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"


def test_the_portal_api_is_not_served_on_tenant_hosts(client, tenant):
    from tests.helpers import host_of

    assert client.get("/api/v1/tenants", HTTP_HOST=host_of(tenant)).status_code == 404


def test_suspending_needs_a_reason_and_paging_is_safe(client, provincial_admin, tenant):
    sign_in_with_second_factor(client, provincial_admin)
    response = client.post(
        f"/api/v1/tenants/{tenant.code}/suspend",
        '{"reason": "  "}',
        content_type="application/json",
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert response.status_code == 422 and "原因" in response.json()["detail"]
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    assert client.get("/api/v1/tenants?page=0", HTTP_HOST=settings.BASE_DOMAIN).status_code == 422
