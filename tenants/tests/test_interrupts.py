"""Ctrl-C during a long command (issue 7, item 6): one line saying how far it got, no tracebacks
(from the forked workers either), and running it again finishes the work."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from tests.helpers import SAMPLE_DIVISIONS
from tests.servers import database_url

ROOT = Path(__file__).resolve().parents[2]
NEW_UNITS = [f"410102{n:03d}000" for n in range(100, 300)]


def manage(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group, signalled as a terminal signals the foreground job on Ctrl-C.
        start_new_session=True,
    )


def provisioned(db) -> int:
    return db.execute(
        "SELECT count(*) FROM tenants_tenant WHERE code = ANY(%s) AND provisioned_at IS NOT NULL",
        [NEW_UNITS],
    ).fetchone()[0]


def test_ctrl_c_during_an_import_says_one_line_and_a_rerun_resumes(db, tmp_path):
    divisions = tmp_path / "more.csv"
    divisions.write_text(
        SAMPLE_DIVISIONS.read_text("utf-8")
        + "".join(f"{code},新区{code[6:9]}街道,township,410102000000\n" for code in NEW_UNITS),
        "utf-8",
    )
    with psycopg.connect(database_url(), autocommit=True) as own:
        try:
            process = manage("import_divisions", str(divisions), "--processes", "2")
            deadline = time.monotonic() + 120
            while provisioned(own) < 5 and process.poll() is None:
                assert time.monotonic() < deadline, "provisioning never started"
                time.sleep(0.05)
            os.killpg(process.pid, signal.SIGINT)
            out, err = process.communicate(timeout=60)
            assert process.returncode == 130, (out, err)
            assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
            # Besides the progress lines every few seconds, one line.
            lines = [line for line in err.splitlines() if not line.startswith("provisioning:")]
            assert len(lines) == 1 and "已中断" in lines[0] and "provisioning" in lines[0], err
            assert 5 <= provisioned(own) < len(NEW_UNITS)

            out, err = manage("provision_tenants").communicate(timeout=300)
            assert "Traceback" not in err and "provisioned" in out, (out, err)
            assert provisioned(own) == len(NEW_UNITS)
        finally:
            process.kill()
            for (schema,) in own.execute(
                "SELECT schema_name FROM tenants_tenant WHERE code = ANY(%s)", [NEW_UNITS]
            ).fetchall():
                own.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            own.execute("DELETE FROM tenants_tenant WHERE code = ANY(%s)", [NEW_UNITS])
