"""The embedded PostgreSQL used when no DATABASE_URL is set (development, demo, tests on a bare machine).

`pgserver` ships PostgreSQL 16 binaries and listens on a unix socket inside the project's data
folder. The server stops when the last process that attached to it exits.
"""

import os
from pathlib import Path


def embedded_database_url(data_dir: Path) -> str:
    # pgserver (and initdb under it) want a runtime dir; a bare root shell often has none.
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver

    return pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop").get_uri()
