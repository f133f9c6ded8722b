"""Response headers and the proxy list (issue 8, item 9; OWASP ASVS V14, `check --deploy`)."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import RequestFactory

from govplatform.security import TrustedProxyMiddleware
from tenants import actions
from tenants.hosts import host_map
from tests.helpers import host_of
from tests.servers import ROOT, database_url, fetch

PRODUCTION = {
    "DEBUG": "0",
    "SECURE_COOKIES": "1",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "IDENTITY_KEY": secrets.token_urlsafe(32),
    "TRUSTED_PROXIES": "127.0.0.1",  # the test plays the load balancer in front of the server
}


def _policy(response) -> dict:
    directives = [d.strip().split() for d in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


def test_pages_carry_a_content_security_policy(client, tenant, provincial_admin):
    pages = [
        client.get("/", HTTP_HOST=settings.BASE_DOMAIN),
        client.get("/", HTTP_HOST=host_of(tenant)),
        client.get("/", HTTP_HOST=f"nowhere.{settings.BASE_DOMAIN}"),  # the tenant middleware's
        client.get("/api/v1/tenants", HTTP_HOST=settings.BASE_DOMAIN),
    ]
    actions.suspend_tenant(tenant, actor=provincial_admin, reason="系统维护")
    try:
        pages.append(client.get("/", HTTP_HOST=host_of(tenant)))
    finally:
        host_map.invalidate()
    assert [p.status_code for p in pages] == [200, 200, 404, 200, 503]
    for page in pages:
        policy = _policy(page)
        assert policy["script-src"] == ["'self'"], policy
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert page["X-Content-Type-Options"] == "nosniff"


def test_pages_need_no_inline_script(client, db):
    body = client.get("/", HTTP_HOST=settings.BASE_DOMAIN).content.decode()
    assert "onchange=" not in body and "<script" not in body
    # The styles come from the platform's own static file, not the page.
    assert "/static/platform/site.css" in body and "<style" not in body
    assert finders.find("platform/site.css")


def test_api_documentation_loads_its_assets_from_the_platform(client, db):
    page = client.get("/api/v1/docs", HTTP_HOST=settings.BASE_DOMAIN)
    body = page.content.decode()
    assert page.status_code == 200
    assert "cdn." not in body and "https://" not in body
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        assert f"/static/{asset}" in body
        assert finders.find(asset), asset


def _through_proxy(settings, remote: str, **headers):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    TrustedProxyMiddleware(lambda r: r)(request)
    return request


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("198.51.100.7, 10.1.2.3", "198.51.100.7"),  # through two of our proxies
        ("6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client wrote itself is ignored
        ("not-an-address\x00, 198.51.100.7", "198.51.100.7"),
        ("198.51.100.7, garbage", "10.0.0.5"),  # nothing believable from the proxy
        ("1" * 10_000, "10.0.0.5"),
    ],
)
def test_a_trusted_proxy_names_the_client(settings, forwarded_for, client):
    request = _through_proxy(
        settings, "10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded_for, HTTP_X_FORWARDED_PROTO="https"
    )
    assert request.META["REMOTE_ADDR"] == client
    assert request.is_secure()


def test_anyone_else_cannot_claim_https_or_an_address(settings):
    request = _through_proxy(
        settings,
        "203.0.113.9",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert request.META["REMOTE_ADDR"] == "203.0.113.9"
    assert "HTTP_X_FORWARDED_FOR" not in request.META and not request.is_secure()


def test_check_deploy_is_clean_with_production_settings(db):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_production_server_sends_hsts_and_redirects_to_https(servers):
    port = servers(**PRODUCTION)
    host = settings.BASE_DOMAIN
    status, headers, _body = fetch(port, "GET", "/", host)
    assert status == 301 and headers["Location"] == f"https://{host}/"
    status, headers, _body = fetch(port, "GET", "/", host, headers={"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    # Load balancers probe by address over plain HTTP: answered, not redirected.
    status, _headers, _body = fetch(port, "GET", "/healthz", "192.0.2.10")
    assert status == 200
