import time

import pytest
from django.conf import settings
from django.urls import reverse

from shared_apps.accounts import actions
from shared_apps.accounts.models import Role
from tests.helpers import current_totp, host_of, make_id_number

PASSWORD = "正确的马电池订书钉"


@pytest.fixture
def citizen(db):
    return actions.register_citizen(
        real_name="张三",
        id_number=make_id_number(sequence="111"),
        phone="13900000001",
        password=PASSWORD,
    )


def sign_in(client, host, username, password=PASSWORD):
    return client.post(
        "/accounts/sign-in", {"username": username, "password": password}, HTTP_HOST=host
    )


def test_sign_up_page_creates_a_signed_in_account(client, db):
    response = client.post(
        "/accounts/sign-up",
        {
            "real_name": "李四",
            "id_number": make_id_number(sequence="222"),
            "phone": "13900000002",
            "password": PASSWORD,
        },
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert response.status_code == 302
    page = client.get("/accounts/me", HTTP_HOST=settings.BASE_DOMAIN).content.decode()
    assert "李四" in page and "410***********" in page


def test_sign_up_page_shows_errors_in_chinese(client, db):
    valid = make_id_number(sequence="223")
    wrong_check = valid[:-1] + ("1" if valid[-1] != "1" else "2")
    response = client.post(
        "/accounts/sign-up",
        {
            "real_name": "李四",
            "id_number": wrong_check,
            "phone": "13900000002",
            "password": PASSWORD,
        },
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert response.status_code == 200 and "校验码错误" in response.content.decode()


def test_one_sign_in_works_on_two_subdomains(client, citizen, tenant, other_tenant):
    response = sign_in(client, host_of(tenant), citizen.phone)
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["domain"] == f".{settings.BASE_DOMAIN}"  # the browser sends it to every subdomain
    for host in (host_of(other_tenant), settings.BASE_DOMAIN):
        page = client.get("/accounts/me", HTTP_HOST=host)
        assert page.status_code == 200 and "张三" in page.content.decode()


def test_sign_in_with_id_number(client, citizen):
    assert sign_in(client, settings.BASE_DOMAIN, citizen.unmasked_id_number()).status_code == 302


def test_sign_out_everywhere_ends_other_sessions(client, citizen, django_user_model):
    from django.test import Client

    other_device = Client()
    sign_in(client, settings.BASE_DOMAIN, citizen.phone)
    sign_in(other_device, settings.BASE_DOMAIN, citizen.phone)
    client.post("/accounts/sign-out-everywhere", HTTP_HOST=settings.BASE_DOMAIN)
    page = other_device.get("/accounts/me", HTTP_HOST=settings.BASE_DOMAIN)
    assert page.status_code == 302 and reverse("accounts:sign_in") in page["Location"]


def test_lock_out_after_repeated_failures(client, citizen):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, settings.BASE_DOMAIN, citizen.phone, "wrong password")
        assert response.status_code in (200, 429)
    locked = sign_in(client, settings.BASE_DOMAIN, citizen.phone)  # even the right password now
    assert locked.status_code == 429 and "尝试次数过多" in locked.content.decode()
    from shared_apps.audit.models import AuditEntry

    assert (
        AuditEntry.objects.filter(action="accounts.sign_in_failed").count()
        >= settings.AXES_FAILURE_LIMIT
    )


def test_staff_need_a_second_factor(client, django_user_model, tenant):
    clerk = django_user_model.objects.create_user("clerk-a", password=PASSWORD, phone="13900000009")
    actions.grant_role(
        actor=django_user_model.objects.create_superuser("root", password=PASSWORD),
        user=clerk,
        tenant=tenant,
        role=Role.TENANT_ADMIN,
    )
    host = host_of(tenant)
    response = sign_in(client, host, clerk.phone)
    assert response.status_code == 302 and "/accounts/second-factor" in response["Location"]
    assert client.get("/staff", HTTP_HOST=host).status_code == 403  # password alone is not enough

    # No authenticator app yet: the password alone shows no secret (enrolment needs a link).
    enrol = client.get("/accounts/second-factor", HTTP_HOST=host)
    assert enrol.status_code == 403 and "<svg" not in enrol.content.decode()
    code = actions.issue_enrolment_link(actor="system:tests", user=clerk)
    assert client.post(f"/accounts/enrol/{code}", HTTP_HOST=host).status_code == 200
    wrong = client.post("/accounts/enrol/confirm", {"code": "000000"}, HTTP_HOST=host)
    assert wrong.status_code == 200 and "不正确" in wrong.content.decode()
    time.sleep(1.1)  # django-otp slows down guessing after a wrong code
    right = client.post("/accounts/enrol/confirm", {"code": current_totp(clerk)}, HTTP_HOST=host)
    assert right.status_code == 302
    assert client.get("/staff", HTTP_HOST=host).status_code == 200


def test_admin_needs_a_superuser_with_a_second_factor(client, django_user_model):
    from conftest import sign_in_with_second_factor

    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    host = settings.BASE_DOMAIN
    client.force_login(root)
    response = client.get("/admin/", HTTP_HOST=host, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:sign_in"))
    sign_in_with_second_factor(client, root)
    assert client.get("/admin/", HTTP_HOST=host).status_code == 200


def test_refusal_page_is_in_chinese(client, citizen, tenant):
    sign_in(client, host_of(tenant), citizen.phone)
    response = client.get("/staff", HTTP_HOST=host_of(tenant))
    assert response.status_code == 403 and "无权" in response.content.decode()
