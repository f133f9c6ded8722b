"""Cost of authorization and of audit writes: `python -m bench.auth`.

On its own database (`<DATABASE_URL's database>_authbench`, made and dropped here), in-process:
- a token-authenticated staff API call on a county subdomain vs an anonymous public call on the
  same subdomain: latency percentiles and queries per request;
- `record_audit` (keyed hash chain, serialized by an advisory lock) vs a plain insert of the same
  row, with 1 and with 8 concurrent writers (separate processes, each write its own transaction),
  the 8 in one unit (one chain) or in 8 units: p50/p95 per write and writes per second.
"""

import multiprocessing
import os
import subprocess
import sys
import time

from bench.common import ROOT, percentiles, scratch_database

N = 500
WRITES_PER_WRITER = 300


def main() -> None:
    with scratch_database("authbench") as url:
        env = {**os.environ, "DATABASE_URL": url}
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate_tenants"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        sample = str(ROOT / "tests/data/sample_divisions.csv")
        subprocess.run(
            [*manage, "import_divisions", sample],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        code = "from bench.auth import measure; measure()"
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def measure() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from shared_apps.accounts import actions
    from shared_apps.accounts.models import Role, User
    from shared_apps.audit.actions import record_audit
    from shared_apps.audit.models import AuditEntry
    from tenants.models import Tenant

    county = Tenant.objects.get(code="410102000000")
    host = f"{county.subdomain}.{settings.BASE_DOMAIN}"
    root = User.objects.create_superuser("bench-root", password="bench-password-123")
    staff = User.objects.create_user("bench-admin", password="bench-password-123")
    actions.grant_role(actor=root, user=staff, tenant=county, role=Role.TENANT_ADMIN)
    token = actions.issue_user_tokens(staff, scopes=["staff:read"]).access_token
    client = Client()

    def timed(path: str, **headers) -> tuple[list[float], int]:
        for _ in range(3):  # warm: host map (reloaded once when its listener starts), connections
            client.get(path, HTTP_HOST=host, **headers)
        time.sleep(0.5)
        statements: list[str] = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path, HTTP_HOST=host, **headers)
        samples = []
        for _ in range(N):
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST=host, **headers)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content
        return samples, [s.split(" WHERE ")[0][:70] for s in statements]

    if "--profile" in sys.argv:
        import cProfile

        cProfile.runctx(
            "timed('/api/v1/staff', HTTP_AUTHORIZATION=f'Bearer {token}')",
            globals(),
            locals(),
            sort="cumtime",
        )
        return
    public, public_queries = timed("/api/v1/departments")
    staff_call, staff_queries = timed("/api/v1/staff", HTTP_AUTHORIZATION=f"Bearer {token}")

    audit = []
    for n in range(N * 2):
        started = time.perf_counter()
        record_audit(actor=staff, action="bench.audit", target=str(n), tenant=county, data={"n": n})
        audit.append(time.perf_counter() - started)
    plain = []
    last = AuditEntry.objects.latest("id")
    for n in range(N * 2):
        started = time.perf_counter()
        AuditEntry.objects.create(
            at=last.at,
            actor="bench",
            action="bench.plain",
            target=str(n),
            tenant_code=county.code,
            data={"n": n},
            prev_hash=last.entry_hash,
            entry_hash=last.entry_hash,
        )
        plain.append(time.perf_counter() - started)

    rows = [
        ("public call (anonymous), per request", *percentiles(public), public_queries),
        ("staff call (token, role check), per request", *percentiles(staff_call), staff_queries),
        ("audit write, hash-chained", *percentiles(audit), None),
        ("plain insert of the same row (baseline)", *percentiles(plain), None),
    ]
    print(f"{'figure':46} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, p50, p95, queries in rows:
        print(f"{label:46} {p50:8.2f} {p95:8.2f} {len(queries) if queries is not None else '':>8}")
    for label, statements in (("public call", public_queries), ("staff call", staff_queries)):
        print(f"\n{label} queries on a warm connection:")
        for statement in statements:
            print(f"  {statement}")

    print(f"\nconcurrent writers ({WRITES_PER_WRITER} writes each, one transaction per write):")
    print(f"{'figure':46} {'p50 ms':>8} {'p95 ms':>8} {'writes/s':>9}")
    units = list(Tenant.objects.order_by("code").values_list("code", flat=True)[:8])
    cases = [
        ("plain insert (baseline), 1 writer", "plain", [county.code]),
        ("plain insert (baseline), 8 writers", "plain", [county.code] * 8),
        ("audit write, 1 writer", "audit", [county.code]),
        ("audit write, 8 writers, one unit (one chain)", "audit", [county.code] * 8),
        ("audit write, 8 writers, 8 units (8 chains)", "audit", units),
    ]
    for label, kind, codes in cases:
        p50, p95, rate = concurrent_writes(kind, codes)
        print(f"{label:46} {p50:8.2f} {p95:8.2f} {rate:9.0f}")
    print(f"audit write p95 {percentiles(audit)[1]:.2f} ms (target: ≤ 5 ms added to a request)")


def _writer(kind: str, tenant_code: str, start, results) -> None:
    from django.db import connection

    from shared_apps.audit.actions import record_audit
    from shared_apps.audit.models import AuditEntry
    from tenants.models import Tenant

    connection.close()  # never share the parent's connection
    tenant = Tenant.objects.get(code=tenant_code)
    last = AuditEntry.objects.latest("id")
    start.wait()
    samples = []
    for n in range(WRITES_PER_WRITER):
        began = time.perf_counter()
        if kind == "audit":
            record_audit(
                actor="system:bench", action="bench.concurrent", target=str(n), tenant=tenant
            )
        else:
            AuditEntry.objects.create(
                at=last.at,
                actor="system:bench",
                action="bench.plain",
                target=str(n),
                tenant_code=tenant_code,
                prev_hash=last.entry_hash,
                entry_hash=last.entry_hash,
            )
        samples.append(time.perf_counter() - began)
    results.put(samples)


def concurrent_writes(kind: str, tenant_codes: list[str]) -> tuple[float, float, float]:
    """p50 and p95 (ms) of one write and the writes per second of one process per tenant code,
    all at once."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(tenant_codes) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_writer, args=(kind, code, start, results)) for code in tenant_codes
    ]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    samples = [s for _ in processes for s in results.get()]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    return (*percentiles(samples), len(samples) / elapsed)


if __name__ == "__main__":
    main()
