"""A suspension made through one server process is enforced by another within 2 s (issue 7,
item 2): two real gunicorn servers on the test database, the tenants committed. The second case
puts the other server's database connections behind a proxy that goes silent, as a half-open TCP
connection does: its listener must notice and the server fall back to reloading its map."""

import json
import socket
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from conftest import sign_in_with_second_factor
from tenants.models import Tenant
from tests.servers import database_address, database_url, fetch

BOUND = 2.0  # seconds within which the other process must enforce a suspension
CSRF = "h" * 32

pytestmark = pytest.mark.slow


class SilentProxy:
    """TCP proxy to PostgreSQL whose existing connections can be made to go silent: bytes are
    accepted (the kernel acknowledges them) and never forwarded, in either direction."""

    def __init__(self, upstream: tuple[str, int] | str):
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.silenced: list[threading.Event] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                client, _address = self.server.accept()
            except OSError:
                return
            if isinstance(self.upstream, str):  # the embedded PostgreSQL's unix socket
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self.upstream)
            else:
                upstream = socket.create_connection(self.upstream)
            silent = threading.Event()
            self.sockets += [client, upstream]
            self.silenced.append(silent)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, target, silent), daemon=True
                ).start()

    def _pump(self, source, target, silent):
        try:
            while data := source.recv(65536):
                if silent.is_set():
                    self.closed.wait()
                    return
                target.sendall(data)
        except OSError:
            pass

    def silence_existing(self):
        for silent in list(self.silenced):
            silent.set()

    def close(self):
        self.closed.set()
        self.server.close()
        for sock in self.sockets:
            sock.close()


def _committed(work):
    """Run work on a connection of its own (autocommit), outside the test's transaction, so that
    the servers see what it writes."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome["value"]


@pytest.fixture
def township(db):
    """A township, and a provincial administrator's session the servers can read."""

    def sign_in():
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_superuser(
            f"hosts-{uuid.uuid4().hex[:8]}", "hosts@example.gov.cn", "correct horse battery"
        )
        return sign_in_with_second_factor(Client(), user).cookies["sessionid"].value

    unit = Tenant.objects.get(code="410102001000")
    yield unit, _committed(sign_in)
    _committed(
        lambda: Tenant.objects.filter(pk=unit.pk).update(
            status=Tenant.Status.ACTIVE, status_reason=""
        )
    )


def _host(unit) -> str:
    return f"{unit.subdomain}.{settings.BASE_DOMAIN}"


def _change_status(port: int, unit, session: str, intent: str):
    status, _headers, body = fetch(
        port,
        "POST",
        f"/api/v1/tenants/{unit.code}/{intent}",
        settings.BASE_DOMAIN,
        body=json.dumps({"reason": "整改"}) if intent == "suspend" else None,
        headers={
            "Content-Type": "application/json",
            "Cookie": f"sessionid={session}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
        },
    )
    assert status == 200, body


def _enforced_within(port: int, unit, expected: int, seconds: float) -> float:
    started = time.monotonic()
    while True:
        status, _headers, _body = fetch(port, "GET", "/", _host(unit))
        elapsed = time.monotonic() - started
        if status == expected:
            return elapsed
        assert elapsed < seconds, f"still {status} after {elapsed:.1f} s"
        time.sleep(0.05)


def _health(port: int) -> dict:
    _status, _headers, body = fetch(port, "GET", "/healthz", "10.0.0.1")
    return json.loads(body)


def _wait_for_listener(port: int, listening: bool, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while _health(port)["tenant_hosts"]["listening"] != listening:
        assert time.monotonic() < deadline, _health(port)
        time.sleep(0.2)


def test_a_suspension_through_one_server_is_enforced_by_the_other(servers, township):
    unit, session = township
    one, other = servers(), servers()
    assert fetch(other, "GET", "/", _host(unit))[0] == 200  # the other's map is warm
    _wait_for_listener(other, listening=True)

    _change_status(one, unit, session, "suspend")
    _enforced_within(other, unit, 503, BOUND)
    _change_status(one, unit, session, "resume")
    _enforced_within(other, unit, 200, BOUND)


def test_a_silent_listener_connection_does_not_hide_a_suspension(servers, township):
    unit, session = township
    proxy = SilentProxy(database_address())
    try:
        one = servers()
        # Every request of the other server opens a fresh connection through the proxy; only its
        # listener's connection lives long enough to be silenced.
        other = servers(
            DATABASE_URL=database_url(proxy.port),
            CONN_MAX_AGE="0",
            TENANT_HOSTS_HEARTBEAT_SECONDS="0.5",
            TENANT_HOSTS_FALLBACK_RELOAD_SECONDS="1",
        )
        assert fetch(other, "GET", "/", _host(unit))[0] == 200
        _wait_for_listener(other, listening=True)
        proxy.silence_existing()
        _wait_for_listener(other, listening=False)

        _change_status(one, unit, session, "suspend")
        _enforced_within(other, unit, 503, BOUND)
    finally:
        proxy.close()
