"""What a bigger tenant schema costs: `python -m bench.schema_growth` (issue 10, the case tables).

On a scratch database with every unit of the shipped division list: provisioning latency (one
township at a time, fast path, after the template is captured), provisioning throughput (every
other unit, 2 processes), one more unit with all present, a deploy with nothing to apply, and the
backend private memory per tenant schema served (bench.memory). Run it in a checkout before and
after a change of the tenant schema, one after the other, and compare.
"""

import json
import os
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, scratch_database
from bench.memory import measure

SAMPLES = 9


def _manage(env, *args) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _script(env, code: str) -> dict:
    prelude = (
        "import django, json, os, time\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'govplatform.settings')\n"
        "django.setup()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


LATENCY = f"""
from django.db import connection
from tenants.models import Tenant
from tenants.provisioning import provision, schema_template
schema_template()
sample = list(Tenant.objects.filter(level="township").order_by("code")[:{SAMPLES}])
times = []
for tenant in sample:
    started = time.perf_counter()
    [outcome] = provision([tenant], processes=1)
    assert outcome.ok, outcome.error
    times.append(time.perf_counter() - started)
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                   [sample[0].schema_name])
    tables = cursor.fetchone()[0]
print(json.dumps({{"s": times, "tables": tables}}))
"""
ONE_MORE = """
from tenants.models import Tenant
from tenants.provisioning import provision
parent = Tenant.objects.get(code="410102000000")
started = time.perf_counter()
unit = Tenant.objects.create(code="410102990000", name="基准街道", level="township", parent=parent,
                             schema_name="t_410102990000", subdomain="jizhun-bench")
[outcome] = provision([unit], processes=1)
assert outcome.ok, outcome.error
print(json.dumps({"s": time.perf_counter() - started}))
"""


def main() -> None:
    results = {}
    with scratch_database("growth") as url:
        env = {**os.environ, "DATABASE_URL": url}
        _manage(env, "migrate_tenants")
        _manage(env, "import_divisions", "--no-provision")
        latency = _script(env, LATENCY)
        results["tables_per_schema"] = latency["tables"]
        results["provision_one_ms"] = {
            "median": statistics.median(latency["s"]) * 1000,
            "min": min(latency["s"]) * 1000,
            "max": max(latency["s"]) * 1000,
        }
        remaining = _script(
            env,
            "from tenants.models import Tenant\n"
            'print(json.dumps({"n": Tenant.objects.filter(provisioned_at__isnull=True).count()}))',
        )["n"]
        results["provision_all"] = {
            "n": remaining,
            "s": _manage(env, "provision_tenants", "--processes", "2"),
        }
        results["one_more_tenant_s"] = _script(env, ONE_MORE)["s"]
        results["noop_deploy_s"] = [
            _manage(env, "migrate_tenants", "--tenants-only") for _ in range(3)
        ]
        results["memory"] = measure(env)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
