"""`/healthz` (issue 8, item 9): on any host and by address, JSON with 503 and no connection details
when the database is down, never an error page."""

import json
import socket

import pytest
from django.conf import settings

from tenants import actions
from tenants.hosts import host_map
from tests.helpers import host_of
from tests.servers import fetch, free_port


def test_healthz_reports_database_broker_and_listener(client, db):
    response = client.get("/healthz", HTTP_HOST=settings.BASE_DOMAIN)
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert body["broker"]["kind"] in {"redis", "rabbitmq", "postgres"}
    assert set(body["tenant_hosts"]) >= {"listening", "state", "reload_seconds"}
    assert "no-cache" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "host",
    ["10.20.30.40", "10.20.30.40:8000", "[2001:db8::7]:80", "nowhere.example.com", "bad host\x00"],
)
def test_healthz_answers_on_any_host(client, db, host):
    response = client.get("/healthz", HTTP_HOST=host)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["database"]["ok"]


def test_healthz_answers_for_a_suspended_unit(client, tenant, provincial_admin):
    actions.suspend_tenant(tenant, actor=provincial_admin, reason="系统维护")
    try:
        response = client.get("/healthz", HTTP_HOST=host_of(tenant))
        assert response.status_code == 200 and response.json()["database"]["ok"]
    finally:
        host_map.invalidate()  # the suspension is rolled back with the test, without a NOTIFY


def test_a_failing_check_is_a_503_json_not_an_error_page(client, db, monkeypatch):
    def broken():
        raise RuntimeError("password=secret host=db.internal")

    monkeypatch.setattr("govplatform.health.host_map.listener_state", broken)
    response = client.get("/healthz", HTTP_HOST="10.0.0.9")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


@pytest.mark.slow
def test_a_broken_database_is_a_503_without_connection_details(servers):
    closed = free_port()  # nothing listens there
    port = servers(DATABASE_URL=f"postgresql://dbadmin:s3cret@127.0.0.1:{closed}/govplatform")
    status, headers, body = fetch(port, "GET", "/healthz", "192.0.2.10")
    assert status == 503, body
    assert headers["Content-Type"] == "application/json"
    report = json.loads(body)
    assert report["status"] == "unavailable"
    assert report["database"] == {"ok": False, "error": "OperationalError", "embedded": False}
    text = body.decode()
    for detail in (str(closed), "127.0.0.1", "dbadmin", "s3cret", "govplatform"):
        assert detail not in text, (detail, text)


def test_a_database_that_never_answers_is_a_503_not_a_hang(servers):
    """A server that accepts the connection and then says nothing (a hung host, a half-open
    proxy): the connection attempt gives up after its timeout (5 s) instead of the operating
    system's (minutes), so the probe gets its 503."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel accepts; nobody ever answers
        port = servers(DATABASE_URL=f"postgresql://u@127.0.0.1:{silent.getsockname()[1]}/x")
        status, _headers, body = fetch(port, "GET", "/healthz", "192.0.2.10")
    assert status == 503, body
    assert json.loads(body)["database"]["ok"] is False
