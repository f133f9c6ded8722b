"""Private memory a PostgreSQL backend keeps per tenant schema it has served: `python -m bench.memory`.

One connection serves the tenant API's department list for one unit after another, through
Django's test client and the platform's middleware (what a request does), then reads that unit's
case queue and a case's history in the same schema (what a clerk's request does), and the backend's
`RssAnon` (from /proc) is read every 200 units. The slope is the cost of one more schema; the
TENANT_SCHEMAS_PER_CONNECTION default is a per-backend budget divided by it. Re-run whenever the
tenant schema grows (a test reminds: `tenants/tests/test_schema_bound.py`).

Standalone it makes its own database with every unit of the shipped division list (about a minute);
`python -m bench` calls `measure()` on its own database.
"""

import json
import os
import subprocess
import sys

from bench.common import ROOT, scratch_database

BUDGET_MB = 64  # private memory per backend we allow the catalog caches of tenant schemas
UNITS = 1200

_SCRIPT = """
import json, os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
django.setup()
from pathlib import Path
from django.conf import settings
from django.db import connection
from django.test import Client
from tenants.models import Tenant

def private_kb():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])

subdomains = list(Tenant.objects.filter(status="active").order_by("code")
                  .values_list("subdomain", flat=True)[:%(units)d + 1])
from tenant_apps.cases.models import CaseEvent
from tenant_apps.cases.queries import staff_cases
client = Client()
points = []
for n, subdomain in enumerate(subdomains):
    response = client.get("/api/v1/departments", HTTP_HOST=f"{subdomain}.{settings.BASE_DOMAIN}")
    assert response.status_code == 200, response.status_code
    # The client leaves the connection in the unit's schema.
    assert connection.schema_name != "public"
    queue = staff_cases(queue="to_accept")
    list(queue[:20]), queue.count(), list(CaseEvent.objects.filter(case_id=0)[:1])
    if n %% 200 == 0:
        points.append((n, private_kb()))
print(json.dumps(points))
"""


def measure(env: dict, units: int = UNITS) -> dict:
    """KB of backend private memory per tenant schema served, and the bound that follows."""
    run_env = {**env, "TENANT_SCHEMAS_PER_CONNECTION": "1000000"}
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT % {"units": units}],
        cwd=ROOT,
        env=run_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    points = json.loads(out.strip().splitlines()[-1])
    # From the first point after the first unit: connection set-up and `public` are not per schema.
    (n0, kb0), (n1, kb1) = points[1], points[-1]
    per_schema_kb = (kb1 - kb0) / (n1 - n0)
    return {
        "backend_private_kb_points": points,
        "kb_per_schema": per_schema_kb,
        "budget_mb": BUDGET_MB,
        "derived_schemas_per_connection": int(BUDGET_MB * 1024 / per_schema_kb),
    }


def main() -> None:
    with scratch_database("memory") as url:
        env = {**os.environ, "DATABASE_URL": url}
        for command in (["migrate_tenants"], ["import_divisions"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        result = measure(env)
    print(
        f"backend private memory per tenant schema served: {result['kb_per_schema']:.1f} KB\n"
        f"TENANT_SCHEMAS_PER_CONNECTION for a {BUDGET_MB} MB budget: "
        f"{result['derived_schemas_per_connection']}"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
