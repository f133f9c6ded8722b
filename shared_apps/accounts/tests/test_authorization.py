"""A staff member of one unit can't read or change another unit's data, whatever the URL.

Every route of a tenant's site is tried, so a new endpoint is covered without touching this file:
it must either be listed below as public or personal, or refuse a foreign unit's staff.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions
from shared_apps.accounts.models import Role
from tests.helpers import host_of

# Routes anyone may use on any unit's site (阳光政务), and pages about the signed-in person.
PUBLIC_OR_PERSONAL = {
    "",
    "healthz",
    "i18n/setlang/",
    "api/v1/departments",
    "api/v1/departments/<department_id>",
    "api/v1/docs",
    "api/v1/openapi.json",
    "accounts/sign-up",
    "accounts/sign-in",
    "accounts/second-factor",
    "accounts/enrol/confirm",
    "accounts/enrol/<str:code>",
    "accounts/me/consents/<int:consent_id>",
    "accounts/me",
    "accounts/sign-out",
    "accounts/sign-out-everywhere",
    "api/v1/proxy/stop",
    "admin/login/",
    "services/",
    "services/<str:code>",
    "api/v1/services",
    "api/v1/services/<code>",
    "admin/logout/",
}
REFUSED = {401, 403, 404, 405}
SAMPLE = {
    "int": "1",
    "str": "x",
    "path": "x/y",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver("govplatform.urls_tenant")
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            yield pattern


def concrete(pattern: str) -> str:
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), pattern)
    path = re.sub(
        r"[\^$]|\\Z|\(\?P<\w+>[^)]*\)", lambda m: "x" if m.group(0).startswith("(") else "", path
    )
    return "/" + path.replace("\\", "")


@pytest.fixture
def county_a_admin(client, django_user_model, tenant, other_tenant):
    root = django_user_model.objects.create_superuser("root", password="正确的马电池订书钉")
    admin = django_user_model.objects.create_user("admin-a", password="正确的马电池订书钉")
    actions.grant_role(actor=root, user=admin, tenant=tenant, role=Role.TENANT_ADMIN)
    return sign_in_with_second_factor(client, admin)


def test_routes_are_enumerated():
    found = set(routes())
    assert "staff" in found and "api/v1/departments" in found and "admin/" in found


def test_foreign_staff_are_refused_on_every_private_route(county_a_admin, tenant, other_tenant):
    client = county_a_admin
    assert client.get("/staff", HTTP_HOST=host_of(tenant)).status_code == 200  # at home: allowed
    leaks = []
    for pattern in sorted(set(routes())):
        if pattern in PUBLIC_OR_PERSONAL:
            continue
        path = concrete(pattern)
        for method in ("get", "post"):
            body = {"data": "{}", "content_type": "application/json"} if method == "post" else {}
            response = getattr(client, method)(path, HTTP_HOST=host_of(other_tenant), **body)
            refused = response.status_code in REFUSED or (
                response.status_code == 302 and "login" in response.get("Location", "")
            )
            if not refused:
                leaks.append(f"{method.upper()} {path} → {response.status_code}")
    assert leaks == [], "\n".join(leaks)


def test_writing_to_another_unit_is_refused_even_with_its_ids(county_a_admin, other_tenant):
    response = county_a_admin.post(
        "/api/v1/departments",
        data='{"name": "民政局", "credit_code": "11410102MB00000129"}',
        content_type="application/json",
        HTTP_HOST=host_of(other_tenant),
    )
    assert response.status_code == 403


def test_city_admin_covers_its_counties_only(client, django_user_model, tenant, other_tenant):
    from tenants.models import Tenant

    root = django_user_model.objects.create_superuser("root", password="正确的马电池订书钉")
    city_admin = django_user_model.objects.create_user(
        "zhengzhou-admin", password="正确的马电池订书钉"
    )
    actions.grant_role(
        actor=root,
        user=city_admin,
        tenant=Tenant.objects.get(code="410100000000"),
        role=Role.TENANT_ADMIN,
        covers_subtree=True,
    )
    sign_in_with_second_factor(client, city_admin)
    assert client.get("/staff", HTTP_HOST=host_of(tenant)).status_code == 200  # 中原区, in 郑州市
    township = Tenant.objects.get(code="410102001000")
    assert client.get("/staff", HTTP_HOST=host_of(township)).status_code == 200
    assert (
        client.get("/staff", HTTP_HOST=host_of(other_tenant)).status_code == 403
    )  # 鼓楼区, 开封市


def test_a_county_admin_cannot_grant_authority_over_its_subtree(django_user_model, tenant):
    from django.core.exceptions import PermissionDenied

    root = django_user_model.objects.create_superuser("root", password="正确的马电池订书钉")
    admin = django_user_model.objects.create_user("admin-a", password="正确的马电池订书钉")
    other = django_user_model.objects.create_user("someone", password="正确的马电池订书钉")
    actions.grant_role(actor=root, user=admin, tenant=tenant, role=Role.TENANT_ADMIN)
    with pytest.raises(PermissionDenied):
        actions.grant_role(
            actor=admin, user=admin, tenant=tenant, role=Role.TENANT_ADMIN, covers_subtree=True
        )
    membership = actions.grant_role(actor=admin, user=other, tenant=tenant, role=Role.WINDOW_CLERK)
    assert membership.role == Role.WINDOW_CLERK


def test_staff_page_grants_and_revokes_roles(county_a_admin, django_user_model, tenant):
    from shared_apps.accounts.models import StaffMembership

    django_user_model.objects.create_user(
        "clerk-b", password="正确的马电池订书钉", phone="13700000001"
    )
    response = county_a_admin.post(
        "/staff",
        {"identifier": "13700000001", "role": Role.WINDOW_CLERK},
        HTTP_HOST=host_of(tenant),
    )
    # A new staff member: the page shows the one-time link to enrol their authenticator app.
    assert response.status_code == 200 and "/accounts/enrol/" in response.content.decode()
    membership = StaffMembership.objects.get(
        user__phone="13700000001", tenant=tenant, is_active=True
    )
    county_a_admin.post("/staff", {"revoke": membership.pk}, HTTP_HOST=host_of(tenant))
    membership.refresh_from_db()
    assert not membership.is_active
