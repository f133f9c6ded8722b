"""A staff member's authenticator app is enrolled only with a one-time link an administrator
issued (24 hours, stored as a hash, usable once); the secret is shown once."""

import base64
import io
import threading
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions
from shared_apps.accounts.models import EnrolmentLink, Role
from shared_apps.audit.models import AuditEntry
from tests.helpers import current_totp, host_of

PASSWORD = "正确的马电池订书钉"


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def admin(root, django_user_model, tenant):
    admin = django_user_model.objects.create_user("unit-admin", password=PASSWORD)
    actions.grant_role(actor=root, user=admin, tenant=tenant, role=Role.TENANT_ADMIN)
    return admin


@pytest.fixture
def newcomer(root, django_user_model, tenant):
    clerk = django_user_model.objects.create_user(
        "new-clerk", password=PASSWORD, phone="13600000001"
    )
    actions.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
    return clerk


def signed_in(user, tenant) -> Client:
    client = Client()
    response = client.post(
        "/accounts/sign-in",
        {"username": user.phone or user.username, "password": PASSWORD},
        HTTP_HOST=host_of(tenant),
    )
    assert response.status_code == 302
    return client


def test_password_alone_shows_no_secret(newcomer, tenant):
    client = signed_in(newcomer, tenant)
    for _ in range(2):
        page = client.get("/accounts/second-factor", HTTP_HOST=host_of(tenant))
        assert page.status_code == 403 and "<svg" not in page.content.decode()
        assert "绑定链接" in page.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_enrolment_without_a_valid_link_is_refused(newcomer, admin, tenant, django_user_model):
    client = signed_in(newcomer, tenant)
    host = host_of(tenant)
    assert client.post("/accounts/enrol/made-up-code", HTTP_HOST=host).status_code == 403
    assert client.get("/accounts/enrol/made-up-code", HTTP_HOST=host).status_code == 403
    # Someone else's link neither works for this account nor is used up by trying.
    other = django_user_model.objects.create_user("other-clerk", password=PASSWORD)
    actions.grant_role(actor=admin, user=other, tenant=tenant, role=Role.WINDOW_CLERK)
    code = actions.issue_enrolment_link(actor=admin, user=other, tenant=tenant)
    page = client.post(f"/accounts/enrol/{code}", HTTP_HOST=host)
    assert page.status_code == 403 and "totp-secret" not in page.content.decode()
    assert EnrolmentLink.objects.get(user=other).used_at is None
    assert (
        client.post("/accounts/enrol/confirm", {"code": "123456"}, HTTP_HOST=host).status_code
        == 403
    )
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_link_expires_after_24_hours(newcomer, admin, tenant):
    code = actions.issue_enrolment_link(actor=admin, user=newcomer, tenant=tenant)
    link = EnrolmentLink.objects.get(user=newcomer)
    assert timedelta(hours=23, minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=24)
    EnrolmentLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = signed_in(newcomer, tenant)
    assert client.post(f"/accounts/enrol/{code}", HTTP_HOST=host_of(tenant)).status_code == 403


def test_link_is_used_once_its_secret_shown_once_and_kept_as_a_hash(newcomer, admin, tenant):
    code = actions.issue_enrolment_link(actor=admin, user=newcomer, tenant=tenant)
    assert not EnrolmentLink.objects.filter(digest__contains=code).exists()
    client = signed_in(newcomer, tenant)
    host = host_of(tenant)
    # Opening the link changes nothing (a mail scanner may fetch it); the button uses it.
    assert client.get(f"/accounts/enrol/{code}", HTTP_HOST=host).status_code == 200
    assert (
        "totp-secret" not in client.get(f"/accounts/enrol/{code}", HTTP_HOST=host).content.decode()
    )
    first = client.post(f"/accounts/enrol/{code}", HTTP_HOST=host)
    device = TOTPDevice.objects.get(user=newcomer)
    assert first.status_code == 200 and not device.confirmed
    assert base64.b32encode(device.bin_key).decode() in first.content.decode()
    again = client.post(f"/accounts/enrol/{code}", HTTP_HOST=host)
    assert again.status_code == 403 and "totp-secret" not in again.content.decode()
    assert client.get("/accounts/second-factor", HTTP_HOST=host).status_code == 403

    confirmed = client.post(
        "/accounts/enrol/confirm", {"code": current_totp(newcomer)}, HTTP_HOST=host
    )
    assert confirmed.status_code == 302
    assert TOTPDevice.objects.get(user=newcomer).confirmed
    enrolment = ["accounts.issue_enrolment_link", "accounts.start_totp_enrolment"]
    enrolment.append("accounts.confirm_totp")
    audited = AuditEntry.objects.filter(target=newcomer.username, action__in=enrolment)
    assert list(audited.order_by("id").values_list("action", flat=True)) == enrolment
    # Signing in again now asks for the code and never shows the secret.
    client = signed_in(newcomer, tenant)
    page = client.get("/accounts/second-factor", HTTP_HOST=host).content.decode()
    assert "<svg" not in page and "totp-secret" not in page


def test_two_racing_requests_use_a_link_once(django_db_blocker):
    """Two requests with the same link at once, each in its own committed transaction, as two
    server threads would run them. (Not a `transaction=True` test: its clean-up empties every
    table, which the append-only audit log refuses; the few rows made here stay in the test
    database under names of their own.)"""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from tenants.models import Tenant

    users = get_user_model()
    suffix = uuid.uuid4().hex[:8]
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(code="410102000000")
        root = users.objects.create_superuser(f"race-root-{suffix}", password=PASSWORD)
        clerk = users.objects.create_user(f"race-clerk-{suffix}", password=PASSWORD)
        actions.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
        code = actions.issue_enrolment_link(actor=root, user=clerk, tenant=tenant)
        connection.close()
    start, outcomes = threading.Barrier(2), []

    def use():
        with django_db_blocker.unblock():
            try:
                with connection.cursor() as cursor:  # as the web server does
                    cursor.execute(
                        f"SET ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}"
                    )
                start.wait()
                actions.start_totp_enrolment(actor=clerk, code=code)
                outcomes.append("enrolled")
            except PermissionDenied:
                outcomes.append("refused")
            finally:
                connection.close()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["enrolled", "refused"]
    with django_db_blocker.unblock():
        assert TOTPDevice.objects.filter(user=clerk).count() == 1
        connection.close()


def test_who_may_issue_a_link(root, admin, newcomer, tenant, other_tenant, django_user_model):
    foreign = django_user_model.objects.create_user("foreign-admin", password=PASSWORD)
    actions.grant_role(actor=root, user=foreign, tenant=other_tenant, role=Role.TENANT_ADMIN)
    with pytest.raises(PermissionDenied):
        actions.issue_enrolment_link(actor=foreign, user=newcomer, tenant=other_tenant)
    with pytest.raises(PermissionDenied):
        actions.issue_enrolment_link(actor=foreign, user=newcomer, tenant=tenant)
    with pytest.raises(PermissionDenied):  # nobody issues their own
        actions.issue_enrolment_link(actor=admin, user=admin, tenant=tenant)
    with pytest.raises(PermissionDenied):
        actions.issue_enrolment_link(actor="anonymous", user=newcomer)
    actions.grant_role(actor=root, user=root, tenant=tenant, role=Role.WINDOW_CLERK)
    with pytest.raises(PermissionDenied):  # nor a unit's administrator a provincial one's
        actions.issue_enrolment_link(actor=admin, user=root, tenant=tenant)
    first = actions.issue_enrolment_link(actor=admin, user=newcomer, tenant=tenant)
    actions.issue_enrolment_link(actor=admin, user=newcomer, tenant=tenant)
    client = signed_in(newcomer, tenant)  # a newer link voids the earlier one
    assert client.post(f"/accounts/enrol/{first}", HTTP_HOST=host_of(tenant)).status_code == 403


def test_the_granting_administrator_gets_the_link(client, admin, tenant, django_user_model):
    django_user_model.objects.create_user("fresh-clerk", password=PASSWORD, phone="13600000002")
    sign_in_with_second_factor(client, admin)
    page = client.post(
        "/staff",
        {"identifier": "13600000002", "role": Role.WINDOW_CLERK},
        HTTP_HOST=host_of(tenant),
    ).content.decode()
    assert 'id="enrolment-link"' in page and "/accounts/enrol/" in page
    api = client.post("/api/v1/staff/fresh-clerk/enrolment-link", HTTP_HOST=host_of(tenant))
    assert api.status_code == 201 and "/accounts/enrol/" in api.json()["url"]
    assert EnrolmentLink.objects.filter(user__username="fresh-clerk").count() == 2


def test_operators_issue_a_link_with_a_command(newcomer, tenant):
    out = io.StringIO()
    call_command("issue_enrolment_link", newcomer.username, stdout=out)
    url = out.getvalue().strip()
    path = url[url.index("/accounts/enrol/") :]
    # Opening the link signed out leads through the sign-in back to the link.
    client = Client()
    response = client.get(path, HTTP_HOST=host_of(tenant), follow=True)
    assert "/accounts/sign-in" in response.redirect_chain[-1][0]
    response = client.post(
        "/accounts/sign-in",
        {"username": newcomer.phone, "password": PASSWORD, "next": path},
        HTTP_HOST=host_of(tenant),
        follow=True,
    )
    assert (
        response.redirect_chain[-1][0] == path
        and 'id="start-enrolment"' in response.content.decode()
    )
    page = client.post(path, HTTP_HOST=host_of(tenant))
    assert 'id="totp-secret"' in page.content.decode()


def test_wrong_codes_at_enrolment_count_towards_throttling(newcomer, admin, tenant):
    code = actions.issue_enrolment_link(actor=admin, user=newcomer, tenant=tenant)
    client = signed_in(newcomer, tenant)
    client.post(f"/accounts/enrol/{code}", HTTP_HOST=host_of(tenant))
    wrong = client.post("/accounts/enrol/confirm", {"code": "000000"}, HTTP_HOST=host_of(tenant))
    assert wrong.status_code == 200 and "totp-secret" not in wrong.content.decode()
    device = TOTPDevice.objects.get(user=newcomer)
    assert device.throttling_failure_count == 1 and not device.confirmed
    assert wrong["Cache-Control"].startswith("max-age=0")


def test_a_link_needs_an_administrator_of_every_unit_of_the_person(
    root, admin, tenant, other_tenant, django_user_model
):
    """Granting another unit's administrator a role here does not hand over their second factor."""
    from tenants.models import Tenant

    foreign = django_user_model.objects.create_user("foreign-admin", password=PASSWORD)
    actions.grant_role(actor=root, user=foreign, tenant=other_tenant, role=Role.TENANT_ADMIN)
    actions.grant_role(actor=admin, user=foreign, tenant=tenant, role=Role.WINDOW_CLERK)
    with pytest.raises(PermissionDenied):
        actions.issue_enrolment_link(actor=admin, user=foreign, tenant=tenant)
    assert not EnrolmentLink.objects.filter(user=foreign).exists()
    # Someone with roles in two counties of 郑州市: the city's administrator (subtree) may issue.
    city = Tenant.objects.get(code="410100000000")
    neighbour = Tenant.objects.get(code="410105000000")  # 金水区
    clerk = django_user_model.objects.create_user("two-unit-clerk", password=PASSWORD)
    actions.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
    actions.grant_role(actor=root, user=clerk, tenant=neighbour, role=Role.WINDOW_CLERK)
    with pytest.raises(PermissionDenied):
        actions.issue_enrolment_link(actor=admin, user=clerk, tenant=tenant)
    city_admin = django_user_model.objects.create_user("city-admin", password=PASSWORD)
    actions.grant_role(
        actor=root, user=city_admin, tenant=city, role=Role.TENANT_ADMIN, covers_subtree=True
    )
    assert actions.issue_enrolment_link(actor=city_admin, user=clerk, tenant=tenant)


def test_another_units_administrator_granted_a_role_here_stays_out_of_reach(
    client, root, admin, tenant, other_tenant, django_user_model
):
    """The attack: grant 鼓楼区's administrator a clerk role here, then ask for their link."""
    foreign = django_user_model.objects.create_user(
        "foreign-admin", password=PASSWORD, phone="13600000003", real_name="王外区"
    )
    actions.grant_role(actor=root, user=foreign, tenant=other_tenant, role=Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    page = client.post(
        "/staff",
        {"identifier": "13600000003", "role": Role.WINDOW_CLERK},
        HTTP_HOST=host_of(tenant),
    )
    assert page.status_code == 302  # granted, but no enrolment link shown
    api = client.post("/api/v1/staff/foreign-admin/enrolment-link", HTTP_HOST=host_of(tenant))
    assert api.status_code == 403
    assert not EnrolmentLink.objects.filter(user=foreign).exists()
    listing = client.get("/staff", HTTP_HOST=host_of(tenant)).content.decode()
    assert "foreign-admin" in listing and "王外区" not in listing
    names = {
        m["username"]: m["real_name"]
        for m in client.get("/api/v1/staff", HTTP_HOST=host_of(tenant)).json()["items"]
    }
    assert names["foreign-admin"] == ""
