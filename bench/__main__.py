"""Benchmarks of the multi-tenant foundation at provincial scale: `python -m bench`.

Uses its own database, `<DATABASE_URL's database>_bench` on the same server (created and dropped
here), so nothing else is touched. Needs DATABASE_URL (a PostgreSQL server; the embedded one works
too when the platform is running). Prints each figure beside its baseline from the same run.

Steps: import Henan's 2,646 units; provision a sample the stock django-tenants way (the baseline),
then all the others the fast way; one more tenant with all present; a deploy with nothing to apply
(fast, and stock on a sample); one real migration (a column and an index on a tenant table) to all
schemas; HTTP requests spread over every subdomain vs the same requests to one tenant, with the
largest PostgreSQL backend's private memory at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
BENCH_MIGRATION = (
    ROOT / "tenant_apps" / "departments" / "migrations" / "0002_bench_column_and_index.py"
)
BENCH_MIGRATION_SOURCE = '''from django.db import migrations, models


class Migration(migrations.Migration):
    """Written and removed by `python -m bench`: one column and one index on a tenant table."""

    dependencies = [("departments", "0001_initial")]
    operations = [
        migrations.AddField("department", "bench_note", models.CharField(max_length=50, default="", blank=True)),
        migrations.AddIndex("department", models.Index(fields=["bench_note"], name="department_bench_note_idx")),
    ]
'''


def bench_database_url(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_bench"
    admin = urlunsplit(parts._replace(path="/postgres"))
    return urlunsplit(parts._replace(path="/" + name)), admin, name


def run(env, *args, quiet=True) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - started


def django_script(env, code: str) -> dict:
    """Run code inside Django (bench database); it prints one JSON object."""
    prelude = "import django, json, os, time\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'govplatform.settings')\ndjango.setup()\n"
    out = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stock-sample", type=int, default=5, help="tenants provisioned the stock way"
    )
    parser.add_argument("--requests", type=int, default=3000, help="HTTP requests per load run")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server (the benchmark makes its own database there)."
        )
    bench_url, admin_url, name = bench_database_url(url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DRAMATIQ_BROKER_URL": os.environ.get("DRAMATIQ_BROKER_URL", ""),
    }
    results: dict[str, float] = {}
    print(f"benchmark database {name}; {os.cpu_count()} cores", flush=True)

    results["migrate_public_s"] = run(env, "migrate_tenants")
    results["import_rows_s"] = run(env, "import_divisions", "--no-provision")

    stock = django_script(
        env,
        f"""
from tenants.models import Tenant
from tenants.provisioning import provision_stock
sample = list(Tenant.objects.filter(level="township").order_by("code")[:{args.stock_sample}])
started = time.perf_counter()
for tenant in sample:
    provision_stock(tenant)
print(json.dumps({{"n": len(sample), "s": time.perf_counter() - started}}))
""",
    )
    results["stock_per_tenant_s"] = stock["s"] / stock["n"]
    fast_s = run(env, "provision_tenants")
    fast_n = 2646 - stock["n"]
    results["fast_all_s"] = fast_s
    results["fast_per_tenant_s"] = fast_s / fast_n
    results["stock_all_estimate_s"] = results["stock_per_tenant_s"] * 2646

    one_more = django_script(
        env,
        """
from tenants.models import Tenant
from tenants.provisioning import provision
parent = Tenant.objects.get(code="410102000000")
started = time.perf_counter()
unit = Tenant.objects.create(code="410102990000", name="基准街道", level="township", parent=parent,
                             schema_name="t_410102990000", subdomain="jizhun-bench")
[outcome] = provision([unit], processes=1)
assert outcome.ok, outcome.error
print(json.dumps({"s": time.perf_counter() - started}))
""",
    )
    results["one_more_tenant_s"] = one_more["s"]

    results["noop_deploy_fast_s"] = run(env, "migrate_tenants", "--tenants-only")
    sample = django_script(
        env,
        """
from tenants.models import Tenant
print(json.dumps({"schemas": list(Tenant.objects.order_by("code").values_list("schema_name", flat=True)[100:110])}))
""",
    )["schemas"]
    started = time.perf_counter()
    for schema in sample:
        run(env, "migrate_schemas", "--tenant", "--schema", schema)
    results["noop_stock_per_schema_s"] = (time.perf_counter() - started) / len(sample)
    results["noop_stock_all_estimate_s"] = results["noop_stock_per_schema_s"] * 2647

    BENCH_MIGRATION.write_text(BENCH_MIGRATION_SOURCE, encoding="utf-8")
    try:
        results["one_migration_all_s"] = run(env, "migrate_tenants", "--tenants-only")
        behind = subprocess.run(
            [sys.executable, "manage.py", "tenant_migration_status"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert behind.returncode == 0, behind.stdout
    finally:
        BENCH_MIGRATION.unlink(missing_ok=True)

    from bench.load import request_benchmark

    results.update(request_benchmark(env, bench_url, args.requests))

    print()
    print(f"{'figure':38} {'value':>12}   baseline / target")
    lines = [
        (
            "provision all 2,646 (fast, 2 processes)",
            results["fast_all_s"],
            "s",
            f"stock estimate {results['stock_all_estimate_s']:.0f} s; target ≤ 300 s",
        ),
        (
            "provision one tenant, fast",
            results["fast_per_tenant_s"],
            "s",
            f"stock {results['stock_per_tenant_s']:.2f} s → {results['stock_per_tenant_s'] / results['fast_per_tenant_s']:.0f}× faster (target ≥ 10×)",
        ),
        ("one more tenant with all present", results["one_more_tenant_s"], "s", "target ≤ 1 s"),
        (
            "deploy with nothing to apply",
            results["noop_deploy_fast_s"],
            "s",
            f"stock estimate {results['noop_stock_all_estimate_s']:.0f} s; target ≤ 10 s",
        ),
        ("one migration to all schemas", results["one_migration_all_s"], "s", "target ≤ 120 s"),
        ("requests/s, one tenant", results["rps_one_tenant"], "", "baseline"),
        (
            "requests/s, spread over all tenants",
            results["rps_all_tenants"],
            "",
            f"{100 * results['rps_all_tenants'] / results['rps_one_tenant']:.0f}% of one tenant (target ≥ 80%)",
        ),
        (
            "largest backend private memory",
            results["max_backend_rss_anon_mb"],
            "MB",
            f"without recycling {results['max_backend_rss_anon_mb_unbounded']:.0f} MB",
        ),
    ]
    for label, value, unit, note in lines:
        print(f"{label:38} {value:10.2f} {unit:2} {note}")
    print()
    print(json.dumps(results, indent=2))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
