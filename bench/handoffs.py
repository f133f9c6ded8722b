"""Hand-off relay throughput: `python -m bench.handoffs` (`--small`: 2,000 hand-offs).

Its own database (`<DATABASE_URL's database>_handoffbench`, made and dropped here) with the test
province (tests/data/sample_divisions.csv: 12 units, provisioned as in production). Hand-offs of
kind joint_accept (a township's case to be decided at its county: the relay creates the county's
case with its clock, event, audit entry, ledger outbox row and index row, and marks the row
applied) are queued with COPY from the five townships to their counties, then relayed by
`shared_apps.handoffs.relay.relay()`:

- one relay process over TOTAL rows;
- two relay processes at once over another TOTAL rows (as two workers would run).

Target (issue 11): ≥ 500 hand-offs per second. Figures: hand-offs applied per second, wall time.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC

import psycopg

from bench.common import ROOT, scratch_database

TOTAL = 2_000 if "--small" in sys.argv else 20_000
PAIRS = [  # township → county
    ("410102001000", "410102000000"),
    ("410102002000", "410102000000"),
    ("410105001000", "410105000000"),
    ("410204001000", "410204000000"),
    ("419001001000", "419001000000"),
]


def payload(number: str) -> str:
    from datetime import datetime

    now = datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "number": number,
            "implementation_id": 0,
            "implementation_code": "11410102MB0000008T5410100504000",
            "item_name": "食品小作坊登记",
            "guide_version_id": 0,
            "department_name": "市场监督管理所",
            "statutory_days": 20,
            "promised_days": 10,
            "applicant_id": 0,
            "organisation_id": None,
            "proxy_agent_id": None,
            "proxy_consent_id": None,
            "filed_by_id": None,
            "channel": "window",
            "form_data": {"shop_name": "老王烩面馆", "area": 60},
            "materials": [],
            "submitted_at": now,
            "accepted_at": now,
            "days_used": 2,
            "extension_days": 0,
            "extension_reason": "",
            "sent_at": now,
            "reason": "",
            "decision": "",
            "decision_reasons": "",
            "decision_legal_basis": "",
            "decided_at": None,
        }
    )


def queue(url: str, total: int, tag: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        ids = dict(conn.execute("SELECT code, id FROM public.tenants_tenant").fetchall())
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY public.handoffs_handoff (from_tenant_id, to_tenant_id, case_public_id,"
                " case_number, kind, payload, status, reason, attempts, created_at) FROM STDIN"
            ) as copy,
        ):
            for n in range(total):
                township, county = PAIRS[n % len(PAIRS)]
                number = f"BENCH{tag}{n:06d}"
                copy.write_row(
                    (ids[township], ids[county], uuid.uuid4(), number, "joint_accept",
                     payload(number), "pending", "", 0, "now")
                )  # fmt: skip
        conn.execute("ANALYZE public.handoffs_handoff")


def relay_once() -> None:
    """In a process of its own: relay everything, print how many."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()
    from shared_apps.handoffs import relay

    print(relay.relay(), flush=True)


def measure(env: dict, processes: int) -> tuple[int, float]:
    started = time.perf_counter()
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", "from bench.handoffs import relay_once; relay_once()"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    applied = sum(int(run.communicate()[0].strip().splitlines()[-1]) for run in runs)
    return applied, time.perf_counter() - started


def main() -> None:
    with scratch_database("handoffbench") as url:
        env = {**os.environ, "DATABASE_URL": url}
        started = time.perf_counter()
        for command in (
            ["migrate_tenants"],
            ["import_divisions", str(ROOT / "tests" / "data" / "sample_divisions.csv")],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        print(f"The sample province: {time.perf_counter() - started:.0f} s")
        results = {}
        for processes in (1, 2):
            queue(url, TOTAL, f"P{processes}")
            # Startup (Django, the broker's import) is in the wall time: a worker pays it once.
            applied, seconds = measure(env, processes)
            assert applied == TOTAL, (applied, TOTAL)
            results[processes] = (applied, seconds)
            print(
                f"{processes} relay process(es): {applied} hand-offs in {seconds:.1f} s, "
                f"{applied / seconds:.0f} per second (target ≥ 500)"
            )
        with psycopg.connect(url, autocommit=True) as conn:
            left = conn.execute(
                "SELECT count(*) FROM public.handoffs_handoff WHERE status <> 'applied'"
            ).fetchone()[0]
        print(json.dumps({"total": TOTAL, "results": results, "not_applied": left}))


if __name__ == "__main__":
    main()
