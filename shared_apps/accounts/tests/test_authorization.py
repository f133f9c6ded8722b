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
    "display/elderly",
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
    "accounts/me/messages/read",
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
    # A person's own applications here (办件): another unit's staff member is just a person.
    "api/v1/my/cases",
    "api/v1/my/cases/<case_id>",
    "api/v1/my/cases/<case_id>/events",
    "api/v1/my/cases/<case_id>/draft",
    "api/v1/my/cases/<case_id>/submit",
    "api/v1/my/cases/<case_id>/resubmit",
    "api/v1/my/cases/<case_id>/withdraw",
    "api/v1/my/cases/<case_id>/files",
    # A person's own bundle application (一件事): drafts filed as that person, and only theirs
    # submitted (tenant_apps/cases/tests/test_bundles.py tries another citizen).
    "api/v1/my/bundles/<code>",
    "api/v1/my/bundle-applications/<number>/submit",
    "apply/<str:code>",
    "my/cases",
    "my/cases/<uuid:public_id>",
    "my/cases/<uuid:public_id>/resubmit",
    "my/cases/<uuid:public_id>/withdraw",
    # A case's file: its applicant (whoever they are) or the unit's staff, 404 to anyone else
    # (tenant_apps/cases/tests/test_pages.py tries other citizens and another unit's staff).
    "cases/<uuid:public_id>/files/<uuid:file_id>",
    # A case's documents: the applicant's own (another unit's staff member is just a person, who
    # gets 404 for a case not theirs: test_documents.py); the check page is public.
    "cases/<uuid:public_id>/documents/<str:kind>.pdf",
    "verify/<str:number>",
    # Published statistics (办件公示): counts and on-time rates, no personal data.
    "statistics",
    # Ratings (好差评): a person's own rating of their case and their answer to the report back
    # (another unit's staff member is just a person: 404 for a case not theirs); the QR code's
    # rating page is public (a code that matches no case of the unit: 404; test_ratings.py).
    "api/v1/my/cases/<case_id>/rating",
    "my/cases/<uuid:public_id>/rating",
    "my/cases/<uuid:public_id>/rating/answer",
    "rate/<str:token>",
    # Consultations (互动交流): anyone asks (POST; the staff's GET list is refused to another unit:
    # shared_apps/consultations/tests), and a person reads their own.
    "api/v1/consultations",
    "api/v1/my/consultations",
}
# The API's root answers 404 to everyone, at home too (checked below): there is nothing there.
NOTHING_THERE = {"api/v1/"}
# 404 is not a refusal: a route must say no (or send to sign-in) before it looks anything up.
REFUSED = {401, 403, 405}
SAMPLE = {
    "int": "1",
    "str": "x",
    "path": "x",
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


def concrete(pattern: str, values: dict | None = None) -> str:
    """A path the pattern matches: path converters get a value of the other unit's objects (by
    parameter name) or a sample of their type; a regular expression's named group its first
    alternative (`(?P<app_label>tenants|audit)` → tenants) or a sample."""
    values = values or {}

    def converter(match):
        kind, name = match.group(1) or "str", match.group(2)
        return str(values.get(name, SAMPLE.get(kind, "x")))

    def group(match):
        first = match.group(2).split("|")[0]
        return first if re.fullmatch(r"[\w-]+", first) else str(values.get(match.group(1), "x"))

    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", group, pattern)
    path = re.sub(r"<(?:(\w+):)?(\w+)>", converter, path)
    path = re.sub(r"\^|\$|\\Z", "", path)
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


@pytest.fixture
def other_units_objects(other_tenant, django_user_model):
    """Real objects of the other unit, so that a route that leaks can't hide behind a 404."""
    from django.db import connection
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenant_apps.departments.models import Department

    connection.set_tenant(other_tenant)
    department = Department.objects.create(name="鼓楼区民政局", credit_code="11410204MB0000012X")
    connection.set_schema_to_public()
    owner = django_user_model.objects.create_user("gulou-admin", password="正确的马电池订书钉")
    device = TOTPDevice.objects.create(user=owner, name="gulou", confirmed=True)
    return {
        "department_id": department.pk,
        "object_id": owner.pk,
        "pk": device.pk,
        "content_type_id": 1,
    }


def _refused(response) -> bool:
    return response.status_code in REFUSED or (
        response.status_code == 302 and "login" in response.get("Location", "")
    )


def test_concrete_paths_resolve_to_their_route():
    from django.urls import resolve

    for pattern in routes():
        match = resolve(concrete(pattern), urlconf="govplatform.urls_tenant")
        assert match.route == pattern.replace("^", ""), (pattern, match.route)


def test_foreign_staff_are_refused_on_every_private_route(
    county_a_admin, tenant, other_tenant, other_units_objects
):
    client = county_a_admin
    assert client.get("/staff", HTTP_HOST=host_of(tenant)).status_code == 200  # at home: allowed
    leaks = []
    for pattern in sorted(set(routes())):
        if pattern in PUBLIC_OR_PERSONAL:
            continue
        path = concrete(pattern, other_units_objects)
        for method in ("get", "post"):
            body = {"data": "{}", "content_type": "application/json"} if method == "post" else {}
            response = getattr(client, method)(path, HTTP_HOST=host_of(other_tenant), **body)
            if pattern in NOTHING_THERE:
                at_home = getattr(client, method)(path, HTTP_HOST=host_of(tenant), **body)
                if response.status_code == at_home.status_code == 404:
                    continue
            if not _refused(response):
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
