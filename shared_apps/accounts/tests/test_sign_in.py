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


# --- Issue 8: one account, however it is written; limits per account and per address ----------


def forms_of(user) -> list[str]:
    """Every way a person may type their account: phone, ID number, user name, in full-width
    digits, with spaces around, in another case."""
    id_number = user.unmasked_id_number()
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    return [
        user.phone,
        id_number,
        user.username,
        user.phone.translate(full_width),
        id_number.translate(full_width),
        f"  {user.phone}\u3000",
        f" {id_number.lower()} ",
        user.username.upper(),
    ]


@pytest.fixture
def citizen_x(db):
    """An ID number ending in X, so that case matters."""
    number = next(
        n for n in (make_id_number(sequence=f"{i:03d}") for i in range(300, 400)) if n.endswith("X")
    )
    return actions.register_citizen(
        real_name="王五", id_number=number, phone="13900000005", password=PASSWORD
    )


def test_every_written_form_signs_in(client, citizen_x):
    for form in forms_of(citizen_x):
        assert sign_in(client, settings.BASE_DOMAIN, form).status_code == 302, form
        client.logout()


@pytest.mark.parametrize("locked_through", range(8))
def test_lock_out_holds_for_every_written_form_on_the_page(client, citizen_x, locked_through):
    """Locked through one form (here each in turn), every other form is locked too."""
    forms = forms_of(citizen_x)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, settings.BASE_DOMAIN, forms[locked_through], "wrong password")
    for form in forms:
        response = sign_in(client, settings.BASE_DOMAIN, form)  # the right password
        assert response.status_code == 429, form


def test_failures_through_different_forms_add_up(client, citizen_x):
    forms = forms_of(citizen_x)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, settings.BASE_DOMAIN, forms[attempt % len(forms)], "wrong password")
    assert sign_in(client, settings.BASE_DOMAIN, citizen_x.phone).status_code == 429


def test_admin_sign_in_goes_through_the_same_lock_out(client, django_user_model):
    """The admin has no sign-in form of its own: it sends people to the page, so a superuser
    locked out there is locked out of the admin."""
    root = django_user_model.objects.create_superuser(
        "root", password=PASSWORD, phone="13900000099"
    )
    login = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": PASSWORD},
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert login.status_code == 302 and reverse("accounts:sign_in") in login["Location"]
    assert "_auth_user_id" not in client.session  # the admin itself signed nobody in
    for form in ("ROOT", " root ", "１３９０００００099"):
        sign_in(client, settings.BASE_DOMAIN, form, "wrong password")
    sign_in(client, settings.BASE_DOMAIN, root.phone, "wrong password")
    sign_in(client, settings.BASE_DOMAIN, "Root", "wrong password")
    target = f"{reverse('accounts:sign_in')}?next=/admin/"
    locked = client.post(
        target, {"username": "root", "password": PASSWORD}, HTTP_HOST=settings.BASE_DOMAIN
    )
    assert locked.status_code == 429


def test_over_long_and_nul_laden_names_are_refused_on_the_page(client, citizen):
    long_name = " " * 250 + citizen.phone + "x" * 200
    response = sign_in(client, settings.BASE_DOMAIN, long_name)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    nul = sign_in(client, settings.BASE_DOMAIN, citizen.phone + "\x00")
    # Never a 500: the request guard refuses a NUL in form data (400).
    assert nul.status_code == 400 and "_auth_user_id" not in client.session


def test_one_address_cannot_spray_many_accounts(client, settings, db):
    """A few guesses on each of many accounts stay under the per-account limit; the address
    limit stops them, for the right password of another account too."""
    settings.SIGN_IN_FAILURES_PER_ADDRESS = "6/h"
    people = [
        actions.register_citizen(
            real_name="赵六",
            id_number=make_id_number(sequence=f"{500 + i}"),
            phone=f"1390000010{i}",
            password=PASSWORD,
        )
        for i in range(4)
    ]
    for person in people[:3]:
        for _ in range(2):
            assert sign_in(client, settings.BASE_DOMAIN, person.phone, "guess").status_code == 200
    refused = sign_in(client, settings.BASE_DOMAIN, people[3].phone)
    assert refused.status_code == 429
    from django.test import Client

    elsewhere = Client(REMOTE_ADDR="10.1.2.3")  # another address is not affected
    assert sign_in(elsewhere, settings.BASE_DOMAIN, people[3].phone).status_code == 302
    from axes.models import AccessAttempt

    # Refusing the address did not count against the account whose owner typed it right.
    assert not AccessAttempt.objects.filter(username=people[3].username).exists()


def test_sign_in_page_is_rate_limited_per_address(client, citizen, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sign-in": ("3/h", "POST", ["accounts:sign_in"]),
    }
    for _ in range(3):
        assert sign_in(client, settings.BASE_DOMAIN, "13900000077", "x").status_code == 200
    limited = sign_in(client, settings.BASE_DOMAIN, citizen.phone)
    assert limited.status_code == 429 and "请求过于频繁" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    assert client.get("/accounts/sign-in", HTTP_HOST=settings.BASE_DOMAIN).status_code == 200
