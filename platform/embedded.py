"""The embedded PostgreSQL used when no DATABASE_URL is set (development, demo, tests on a bare machine).

`pgserver` ships PostgreSQL 16 binaries and listens on a unix socket inside the project's data
folder. The first process that needs it starts it and owns it: the server stops when that process
exits. Its children (gunicorn workers, dramatiq workers) inherit the URL and only connect, so a
child that is killed can't leave a stale claim that keeps the server running.
"""

import logging
import os
from pathlib import Path

OWNER_URL_VARIABLE = "PLATFORM_EMBEDDED_DATABASE_URL"


def embedded_database_url(data_dir: Path) -> str:
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

    url = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop").get_uri()
    os.environ[OWNER_URL_VARIABLE] = url
    return url
