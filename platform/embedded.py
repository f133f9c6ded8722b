"""The embedded PostgreSQL used when no DATABASE_URL is set (development, demo, tests on a bare machine).

`pgserver` ships PostgreSQL 16 binaries and listens on a unix socket inside the project's data
folder. The first process that needs it starts it and owns it: the server stops when that process
exits. Its children (gunicorn workers, dramatiq workers) inherit the URL and only connect, so a
child that is killed can't leave a stale claim that keeps the server running.

Its superuser `postgres` is the owner role (migrations, `./dev start`'s set-up commands); the
application role (DATABASE_APP_ROLE) is created here, and `EMBEDDED_DATABASE_ROLE` makes a process
log in as it (`./dev start` serves and runs the worker that way).
"""

import logging
import os
from pathlib import Path

OWNER_URL_VARIABLE = "PLATFORM_EMBEDDED_DATABASE_URL"


def embedded_database_url(data_dir: Path, *, app_role: str, role: str = "") -> str:
    inherited = os.environ.get(OWNER_URL_VARIABLE)
    if inherited:
        return inherited
    # pgserver (and initdb under it) want a private runtime dir; a bare root shell often has none.
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    # Its start/stop chatter (also printed at interpreter exit, after log streams closed) is noise.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import pgserver

    server = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    _ensure_role(server.get_uri(), app_role)
    # Trust authentication on the server's private socket: the role name is enough.
    url = server.get_postmaster_info().get_uri(user=role or "postgres", database="postgres")
    os.environ[OWNER_URL_VARIABLE] = url
    return url


def _ensure_role(superuser_url: str, role: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(superuser_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
