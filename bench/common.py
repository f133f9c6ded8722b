"""Helpers the benchmarks share: a scratch database, percentiles, a gunicorn on this machine."""

import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def scratch_database(suffix: str):
    """A new database `<DATABASE_URL's database>_<suffix>` on the same server, dropped afterwards.
    Yields its URL."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server (the benchmark makes its own database there)."
        )
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{suffix}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def start_gunicorn(env: dict, port: int, *options: str) -> subprocess.Popen:
    """The platform under gunicorn (2 workers, plus any options) on 127.0.0.1:port, once it
    accepts connections."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "govplatform.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            *options,
            "--log-level",
            "warning",
            "--control-socket",
            f"/tmp/gunicorn-bench-{port}.ctl",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)
