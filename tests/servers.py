"""Real gunicorn servers of the platform for tests that need separate processes."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(port: int | None = None) -> str:
    """The test database's URL (a server must use it, not the development one); with `port`, the
    same database through a TCP proxy listening on 127.0.0.1:port."""
    params = connection.settings_dict
    host = params["HOST"] or params["OPTIONS"].get("host", "")
    user, name = params["USER"], params["NAME"]
    if port:
        return f"postgresql://{user}@127.0.0.1:{port}/{name}"
    if host.startswith("/"):  # the embedded PostgreSQL: a unix socket
        return f"postgresql://{user}:@/{name}?host={host}"
    return f"postgresql://{user}@{host or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"


def database_address() -> tuple[str, int] | str:
    """Where the test database listens: (host, port), or the path of its unix socket."""
    params = connection.settings_dict
    host = params["HOST"] or params["OPTIONS"].get("host", "")
    port = int(params["PORT"] or 5432)
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}"
    return (host or "127.0.0.1", port)


def fetch(port: int, method: str, path: str, host: str, body=None, headers=None):
    """(status, headers, body) of one request to 127.0.0.1:port with the given Host header."""
    # Generous: a fresh server loads its host map and word list on its first requests.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def start_gunicorn(env: dict, port: int, log, *options: str) -> subprocess.Popen:
    """A gunicorn server of the platform on 127.0.0.1:port (with the given gunicorn options), once
    it accepts connections; its output, where Django logs every server error with its traceback,
    goes to `log` (an open file)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "govplatform.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            *options,
            "--control-socket",
            f"/tmp/gunicorn-test-{port}.ctl",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return wait_until_listening(
        process, port, 60, lambda: f"gunicorn did not start; see {log.name}"
    )


def wait_until_listening(process: subprocess.Popen, port: int, seconds: float, failure):
    """`process` once it accepts connections on 127.0.0.1:port; killed, and RuntimeError(failure())
    raised, if it exits or does not listen within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(failure()) from None
            time.sleep(0.1)


@pytest.fixture
def servers(tmp_path):
    """start(**environment) -> port: a gunicorn server (1 worker) of the platform, on the test
    database unless DATABASE_URL is given; stopped after the test."""
    started = []

    def start(**environment) -> int:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url(), "DRAMATIQ_BROKER_URL": ""}
        env.update(environment)
        log = (tmp_path / f"gunicorn-{port}.log").open("w")
        started.append((start_gunicorn(env, port, log, "--workers", "1"), log))
        return port

    yield start
    for process, log in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
