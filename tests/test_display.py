"""The elderly-friendly mode (适老化): a switch in the header of every page, a cookie for the
base domain, and never a way to send someone to another site."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from tests.helpers import host_of


@pytest.fixture(autouse=True)
def _language_restored():
    """A request in English leaves English active in this thread: later tests expect Chinese."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


def _toggle(client, host, elderly: str, next_page: str):
    return client.post("/display/elderly", {"elderly": elderly, "next": next_page}, HTTP_HOST=host)


def test_switching_on_sets_a_cookie_for_every_unit_and_returns_to_the_page(client, tenant):
    response = _toggle(client, host_of(tenant), "1", "/services/?q=户口")
    assert response.status_code == 302 and response["Location"] == "/services/?q=%E6%88%B7%E5%8F%A3"
    cookie = response.cookies["gov_elderly"]
    assert cookie.value == "1"
    assert cookie["domain"] == settings.SESSION_COOKIE_DOMAIN and cookie["path"] == "/"
    assert cookie["samesite"] == "Lax" and cookie["max-age"] == 365 * 24 * 60 * 60
    # The portal and another unit show it, with the switch back in the header.
    for host in (settings.BASE_DOMAIN, host_of(tenant)):
        body = client.get("/", HTTP_HOST=host).content.decode()
        assert re.search(r'<html lang="zh-hans" class="elderly">', body)
        assert 'name="elderly" value="0"' in body and "返回标准版" in body


def test_switching_off_removes_the_cookie(client, tenant):
    client.cookies["gov_elderly"] = "1"
    response = _toggle(client, settings.BASE_DOMAIN, "0", "/services/")
    assert response["Location"] == "/services/"
    cookie = response.cookies["gov_elderly"]
    assert cookie.value == "" and cookie["max-age"] == 0
    assert cookie["domain"] == settings.SESSION_COOKIE_DOMAIN
    body = client.get("/services/", HTTP_HOST=settings.BASE_DOMAIN).content.decode()
    assert 'class="elderly"' not in body and "长辈版（大字）" in body


@pytest.mark.parametrize(
    "next_page",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "///evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "services/",
        "",
        "/" + "x" * 3000,
    ],
)
def test_never_returns_to_another_site(client, db, next_page):
    response = _toggle(client, settings.BASE_DOMAIN, "1", next_page)
    assert response.status_code == 302 and response["Location"] == "/"


def test_only_a_post_switches_it(client, db):
    response = client.get("/display/elderly?elderly=1&next=/", HTTP_HOST=settings.BASE_DOMAIN)
    assert response.status_code == 405 and "gov_elderly" not in response.cookies


def test_every_page_has_the_switch_a_skip_link_and_one_main(client, tenant):
    pages = [
        client.get("/", HTTP_HOST=settings.BASE_DOMAIN),
        client.get("/", HTTP_HOST=host_of(tenant)),
        client.get("/services/", HTTP_HOST=host_of(tenant)),
        client.get("/accounts/sign-in", HTTP_HOST=settings.BASE_DOMAIN),
        client.get("/no-such-page", HTTP_HOST=settings.BASE_DOMAIN),
        client.get("/", HTTP_HOST=f"nowhere.{settings.BASE_DOMAIN}"),
    ]
    assert [p.status_code for p in pages] == [200, 200, 200, 200, 404, 404]
    for page in pages:
        body = page.content.decode()
        assert 'id="elderly-form"' in body and 'action="/display/elderly"' in body
        assert '<a class="skip-link" href="#main">' in body
        assert body.count("<main") == 1 and body.count("<h1") == 1
        assert "河南省网上政务服务平台" in body


def test_english_pages_name_the_site_in_english(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/services/", HTTP_HOST=settings.BASE_DOMAIN).content.decode()
    assert "Henan Online Government Services" in body and "Elderly mode" in body
    assert "河南省网上政务服务平台" not in body


def test_the_chosen_language_holds_on_every_unit(client, tenant):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/"}, HTTP_HOST=settings.BASE_DOMAIN
    )
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and cookie["domain"] == settings.SESSION_COOKIE_DOMAIN
    body = client.get("/", HTTP_HOST=host_of(tenant)).content.decode()
    assert '<html lang="en"' in body and "Henan Online Government Services" in body
