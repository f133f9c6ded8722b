"""Benchmarks of the multi-tenant foundation at provincial scale: `python -m bench`.

Uses its own database, `<DATABASE_URL's database>_bench` on the same server (created and dropped
here), so nothing else is touched, and writes nothing into the source tree. Needs DATABASE_URL (a
PostgreSQL server). Every figure is printed beside a baseline measured in the same run:

- provisioning one tenant, fast vs stock django-tenants (latency, several of each), and many
  tenants at the same parallelism (2 processes): all of Henan fast vs a sample stock;
- a deploy with nothing to apply over every schema: `migrate_tenants` vs django-tenants' own
  `migrate_schemas --tenant` in one process (several minutes);
- one real migration (a column and an index on a tenant table) to every schema;
- backend memory per tenant schema served, and the TENANT_SCHEMAS_PER_CONNECTION it gives;
- requests spread over every unit vs the same requests to one unit, in interleaved repetitions,
  in-process (bench/spread.py) and over HTTP (bench/load.py), with the platform's settings and
  with the schema bound of 50 it had before.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEPARTMENT_MIGRATIONS = ROOT / "tenant_apps" / "departments" / "migrations"
BENCH_MIGRATION_SOURCE = '''from django.db import migrations, models


class Migration(migrations.Migration):
    """Made by `python -m bench` in a temporary folder: one column and one index on a tenant table."""

    dependencies = [("departments", "{leaf}")]
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


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def migrations_with_bench_migration(folder: Path) -> dict:
    """A copy of the departments migrations plus the bench migration, importable from `folder`,
    and the settings module that points Django at it."""
    package = folder / "bench_migrations" / "departments"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    names = sorted(p.stem for p in DEPARTMENT_MIGRATIONS.glob("[0-9]*.py"))
    for name in names:
        shutil.copy(DEPARTMENT_MIGRATIONS / f"{name}.py", package / f"{name}.py")
    (package / "__init__.py").write_text("")
    (package / "9999_bench_column_and_index.py").write_text(
        BENCH_MIGRATION_SOURCE.format(leaf=names[-1]), encoding="utf-8"
    )
    (folder / "bench_settings.py").write_text(
        "from govplatform.settings import *  # noqa: F403\n"
        'MIGRATION_MODULES = {"departments": "bench_migrations.departments"}\n'
    )
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-samples", type=int, default=5, help="tenants of each kind")
    parser.add_argument(
        "--stock-sample",
        type=int,
        default=40,
        help="tenants provisioned the stock way, 2 processes",
    )
    parser.add_argument("--requests", type=int, default=3000, help="HTTP requests per load run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved load repetitions")
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
        server_version = admin.execute("SHOW server_version").fetchone()[0]
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DRAMATIQ_BROKER_URL": os.environ.get("DRAMATIQ_BROKER_URL", ""),
    }
    results: dict = {"cores": os.cpu_count(), "postgresql": server_version}
    print(f"benchmark database {name}; {os.cpu_count()} cores; PostgreSQL {server_version}")

    def step(label):
        print(f"[{time.strftime('%H:%M:%S')}] {label}", flush=True)

    step("public schema and division rows")
    results["migrate_public_s"] = run(env, "migrate_tenants")
    results["import_rows_s"] = run(env, "import_divisions", "--no-provision")

    step("provisioning latency: one tenant at a time, stock and fast, alternating")
    results["provision_latency"] = django_script(
        env,
        f"""
from tenants.models import Tenant
from tenants.provisioning import provision, provision_stock, schema_template
schema_template()  # captured once per migration state: not part of one tenant's latency
sample = list(Tenant.objects.filter(level="township").order_by("code")[:{2 * args.latency_samples}])
stock, fast = [], []
for n, tenant in enumerate(sample):
    started = time.perf_counter()
    if n % 2:
        [outcome] = provision([tenant], processes=1)
        assert outcome.ok, outcome.error
        fast.append(time.perf_counter() - started)
    else:
        provision_stock(tenant)
        stock.append(time.perf_counter() - started)
print(json.dumps({{"stock_s": stock, "fast_s": fast}}))
""",
    )

    step(f"provisioning throughput, 2 processes: stock on {args.stock_sample} tenants")
    results["stock_parallel"] = django_script(
        env,
        f"""
import multiprocessing
from django.db import connections
from tenants.models import Tenant
from tenants.provisioning import provision_stock
ids = list(Tenant.objects.filter(level="township", provisioned_at__isnull=True)
           .order_by("-code").values_list("id", flat=True)[:{args.stock_sample}])
def one(tenant_id):
    provision_stock(Tenant.objects.get(id=tenant_id))
    return tenant_id
connections.close_all()
started = time.perf_counter()
with multiprocessing.get_context("fork").Pool(2) as pool:
    done = pool.map(one, ids, chunksize=1)
print(json.dumps({{"n": len(done), "s": time.perf_counter() - started}}))
""",
    )
    step("provisioning throughput, 2 processes: fast, every other unit")
    fast_n = django_script(
        env,
        'from tenants.models import Tenant\nprint(json.dumps({"n": Tenant.objects.filter(provisioned_at__isnull=True).count()}))',
    )["n"]
    fast_s = run(env, "provision_tenants", "--processes", "2")
    results["fast_parallel"] = {"n": fast_n, "s": fast_s}

    step("one more tenant with every unit present")
    results["one_more_tenant_s"] = django_script(
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
    )["s"]

    step("deploy with nothing to apply: migrate_tenants, 3 times")
    results["noop_deploy_fast_s"] = [
        run(env, "migrate_tenants", "--tenants-only") for _ in range(3)
    ]
    step("deploy with nothing to apply: stock migrate_schemas --tenant, every schema, 1 process")
    results["noop_deploy_stock_s"] = run(env, "migrate_schemas", "--tenant")

    step("one real migration (a column and an index) to every schema")
    with tempfile.TemporaryDirectory(prefix="bench-migration-") as folder:
        migration_env = {**env, **migrations_with_bench_migration(Path(folder))}
        results["one_migration_all_s"] = run(migration_env, "migrate_tenants", "--tenants-only")
        behind = subprocess.run(
            [sys.executable, "manage.py", "tenant_migration_status"],
            cwd=ROOT,
            env=migration_env,
            capture_output=True,
            text=True,
        )
        assert behind.returncode == 0, behind.stdout

    step("backend memory per tenant schema served")
    from bench.memory import measure

    results["memory"] = measure(env)

    step("in-process requests: one unit vs spread over every unit, interleaved")
    from bench.spread import measure as spread_in_process

    results["spread_in_process"] = {
        "platform": spread_in_process(env),
        "schema bound 50 (before)": spread_in_process(env, TENANT_SCHEMAS_PER_CONNECTION="50"),
    }

    step("HTTP requests: one unit vs spread over every unit, interleaved")
    from bench.load import request_benchmark

    results["requests"] = request_benchmark(env, bench_url, args.requests, args.repeats)

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(results)


def report(results: dict) -> None:
    latency = results["provision_latency"]
    stock_one = statistics.median(latency["stock_s"])
    fast_one = statistics.median(latency["fast_s"])
    stock_rate = results["stock_parallel"]["n"] / results["stock_parallel"]["s"]
    fast_rate = results["fast_parallel"]["n"] / results["fast_parallel"]["s"]
    noop_fast = spread(results["noop_deploy_fast_s"])
    memory = results["memory"]
    requests = results["requests"]
    print()
    print(f"{'figure':50} {'value':>14}   baseline in the same run / target")
    rows = [
        (
            "provision one tenant, fast (median; min–max)",
            f"{fast_one * 1000:.0f} ms",
            f"stock {stock_one * 1000:.0f} ms ({min(latency['stock_s']) * 1000:.0f}–"
            f"{max(latency['stock_s']) * 1000:.0f}); fast {min(latency['fast_s']) * 1000:.0f}–"
            f"{max(latency['fast_s']) * 1000:.0f} → {stock_one / fast_one:.0f}× faster (≥ 10×)",
        ),
        (
            f"provision {results['fast_parallel']['n']} tenants, fast, 2 processes",
            f"{results['fast_parallel']['s']:.1f} s",
            f"{fast_rate:.0f}/s vs stock {stock_rate:.1f}/s on {results['stock_parallel']['n']} "
            f"→ {fast_rate / stock_rate:.0f}×; all in ≤ 300 s",
        ),
        ("one more tenant with all present", f"{results['one_more_tenant_s']:.2f} s", "≤ 1 s"),
        (
            "deploy, nothing to apply (median of 3; min–max)",
            f"{noop_fast['median']:.1f} s",
            f"{noop_fast['min']:.1f}–{noop_fast['max']:.1f} s; stock migrate_schemas "
            f"{results['noop_deploy_stock_s']:.0f} s → "
            f"{results['noop_deploy_stock_s'] / noop_fast['median']:.0f}×; ≤ 10 s",
        ),
        ("one migration to every schema", f"{results['one_migration_all_s']:.1f} s", "≤ 120 s"),
        (
            "backend memory per tenant schema served",
            f"{memory['kb_per_schema']:.1f} KB",
            f"→ {memory['derived_schemas_per_connection']} schemas in {memory['budget_mb']} MB",
        ),
    ]
    for name, figures in results["spread_in_process"].items():
        ratio = figures["ratio"]
        rows.append(
            (
                f"[{name}] in-process ms one unit / spread",
                f"{figures['one_unit_ms']:.3f} / {figures['spread_ms']:.3f}",
                f"ratio {100 * ratio['median']:.1f} % ({100 * ratio['min']:.1f}–"
                f"{100 * ratio['max']:.1f}) (≥ 85 %); cold start {100 * figures['cold_ratio']:.1f} %",
            )
        )
    for name, figures in requests.items():
        if not isinstance(figures, dict):
            continue
        one, all_, ratio = (
            figures["rps_one_tenant"],
            figures["rps_all_tenants"],
            figures["spread_ratio"],
        )
        rows += [
            (
                f"[{name}] req/s one unit",
                f"{one['median']:.0f}",
                f"{one['min']:.0f}–{one['max']:.0f}",
            ),
            (
                f"[{name}] req/s spread over all",
                f"{all_['median']:.0f}",
                f"{all_['min']:.0f}–{all_['max']:.0f}; ratio {100 * ratio['median']:.1f} % "
                f"({100 * ratio['min']:.1f}–{100 * ratio['max']:.1f}) (≥ 85 %); cold start "
                f"{100 * figures['cold_spread_ratio']:.1f} %",
            ),
            (
                f"[{name}] backends; largest private memory",
                f"{figures['backends']}; {figures['largest_backend_mb']:.1f} MB",
                f"all backends {figures['backends_total_mb']:.0f} MB; budget "
                f"{memory['budget_mb']} MB a backend",
            ),
        ]
    for label, value, note in rows:
        print(f"{label:50} {value:>14}   {note}")
    print(
        f"server: {requests['server']}, {requests['clients']} keep-alive clients, "
        f"{requests['requests_per_run']} requests a run, warm-up {requests['warm_up']}"
    )
    print()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    multiprocessing.set_start_method("fork", force=True)
    main()
