"""The supervision ledger at provincial scale: `python -m bench.supervision` (`--small`: quick).

Its own database (`<DATABASE_URL's database>_supervisionbench`, made and dropped here): Henan's
2,646 units; 1,000,000 case events in the ledger spread over every unit (small: 50,000), written
with set-based SQL, and the counters built from them by the same grouping the relay uses. Then:

- the province-wide summary and each city's, from a fresh connection each time (connect
  included): targets p95 ≤ 100 ms and ≤ 50 ms;
- the baseline of the same run: the province's figures as a UNION ALL over the unit schemas'
  case tables, on a sample of SAMPLE_SCHEMAS schemas (DESIGN.md §6);
- the relay's throughput over 100,000 waiting outbox rows (small: 10,000);
- the ledger's lag under load: writers add outbox rows at WRITE_RATE per second for LOAD_SECONDS
  while the relay job follows the outbox as in production (relay.follow); lag = ledgered_at − the
  event's time; target p95 ≤ 2 s.
"""

import os
import statistics
import subprocess
import sys
import threading
import time

from bench.common import ROOT, percentiles, scratch_database

SIZES = {
    "full": {"events": 1_000_000, "samples": 200, "waiting": 100_000, "load_seconds": 30},
    "small": {"events": 50_000, "samples": 50, "waiting": 10_000, "load_seconds": 10},
}
SAMPLE_SCHEMAS = 100
WRITE_RATE = 200  # outbox rows per second, from 4 writers
TARGETS = {"province": 100, "city": 50, "lag": 2000}


def _size() -> dict:
    return SIZES["small" if os.environ.get("BENCH_SMALL") else "full"]


def main() -> None:
    small = "--small" in sys.argv
    with scratch_database("supervisionbench") as url:
        env = {**os.environ, "DATABASE_URL": url, **({"BENCH_SMALL": "1"} if small else {})}
        started = time.perf_counter()
        for command in (["migrate_tenants"], ["import_divisions"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        print(f"Henan's units: {time.perf_counter() - started:.0f} s", flush=True)
        code = "from bench.supervision import run; run()"
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()


EVENTS_SQL = """
INSERT INTO public.supervision_ledgerentry (outbox_id, tenant_id, tenant_code, case_public_id,
  case_number, event, from_state, to_state, at, implementation_code, item_name, department_id,
  department_name, channel, applicant_kind, clock_state, flag, due_at, days_used, on_time,
  ledgered_at)
SELECT -n, t.id, t.code, md5('bench' || n)::uuid, 'B' || n,
  (ARRAY['submit','accept','start_review','decide','deliver','deadline.yellow','deadline.red'])
    [n %% 7 + 1], '', '', now() - (n %% 365) * interval '1 day',
  'IMPL' || (n %% 40), '事项' || (n %% 40), n %% 6, '部门' || (n %% 6),
  (ARRAY['online','online','window','proxy'])[n %% 4 + 1], 'person', 'running',
  CASE WHEN n %% 11 = 0 THEN 'red' ELSE '' END, NULL, n %% 20,
  CASE WHEN n %% 7 = 3 THEN n %% 11 <> 0 END, now()
FROM generate_series(1, %(events)s) AS n
JOIN (SELECT id, code, row_number() OVER (ORDER BY code) - 1 AS i, count(*) OVER () AS units
      FROM public.tenants_tenant) t ON t.i = n %% t.units
"""


def _counters_sql() -> list[str]:
    from shared_apps.supervision.relay import _COUNT_EXPRESSIONS

    names = ", ".join(_COUNT_EXPRESSIONS)
    sums = ", ".join(_COUNT_EXPRESSIONS.values())
    codes = (
        "rpad(left(tenant_code, 2), 12, '0'), rpad(left(tenant_code, 4), 12, '0'),"
        " rpad(left(tenant_code, 6), 12, '0')"
    )
    return [
        "INSERT INTO public.supervision_dailycount (tenant_id, province_code, city_code,"
        f" county_code, implementation_code, item_name, department_id, department_name, day, {names})"
        f" SELECT tenant_id, {codes}, implementation_code, max(item_name),"
        " coalesce(department_id, 0), max(department_name), (at AT TIME ZONE 'Asia/Shanghai')::date,"
        f" {sums} FROM public.supervision_ledgerentry GROUP BY tenant_id, tenant_code,"
        " implementation_code, coalesce(department_id, 0), (at AT TIME ZONE 'Asia/Shanghai')::date",
        "INSERT INTO public.supervision_tenantcount (tenant_id, province_code, city_code,"
        f" county_code, updated_at, {names}) SELECT tenant_id, {codes}, now(), {sums}"
        " FROM public.supervision_ledgerentry GROUP BY tenant_id, tenant_code",
        "ANALYZE public.supervision_ledgerentry",
        "ANALYZE public.supervision_dailycount",
        "ANALYZE public.supervision_tenantcount",
    ]


def generate() -> None:
    from django.db import connection

    size = _size()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(EVENTS_SQL, {"events": size["events"]})
        for statement in _counters_sql():
            cursor.execute(statement)
        cursor.execute("SELECT count(*) FROM public.supervision_dailycount")
        daily = cursor.fetchone()[0]
    print(
        f"{size['events']:,} ledger events and their counters ({daily:,} daily rows):"
        f" {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def _fresh(call) -> float:
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure_summaries() -> dict:
    from shared_apps.supervision import queries
    from tenants.models import Tenant

    size = _size()
    province = Tenant.objects.get(level="province")
    cities = list(Tenant.objects.filter(level="city").order_by("code"))
    results = {}
    check = queries.summary(province)
    print(f"Province: {check.received:,} received, online share {check.online_share}")
    for name, units in (("province", [province]), ("city", cities)):
        picked = [units[i % len(units)] for i in range(size["samples"])]
        samples = [_fresh(lambda unit=unit: queries.summary(unit)) for unit in picked]
        p50, p95 = percentiles(samples)
        results[name] = p95
        print(
            f"{name} summary, fresh connection: p50 {p50:.1f} ms, p95 {p95:.1f} ms"
            f" (target ≤ {TARGETS[name]} ms) {'met' if p95 <= TARGETS[name] else 'MISSED'}",
            flush=True,
        )
    from django.db import connection

    connection.ensure_connection()
    for name, units in (("province", [province]), ("city", cities)):
        picked = [units[i % len(units)] for i in range(size["samples"])]
        warm = []
        for unit in picked:
            started = time.perf_counter()
            queries.summary(unit)
            warm.append(time.perf_counter() - started)
        p50, p95 = percentiles(warm)
        print(
            f"{name} summary, the query alone (open connection): p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
    by_item = [_fresh(lambda: list(queries.breakdown(cities[0], "item")[:20])) for _ in range(20)]
    print(f"a city by item (first page): p95 {percentiles(by_item)[1]:.1f} ms")
    return results


def measure_baseline() -> None:
    """The province's figures as a UNION ALL over SAMPLE_SCHEMAS units' case tables."""
    from django.db import connection, connections

    from tenants.models import Tenant

    size = _size()
    units = list(Tenant.objects.filter(provisioned_at__isnull=False).order_by("?")[:SAMPLE_SCHEMAS])
    each = size["events"] // Tenant.objects.count() // 3  # about three events per case
    started = time.perf_counter()
    for unit in units:
        _fill_cases(unit, each)
    connection.set_schema_to_public()
    print(
        f"baseline data: {each} cases in each of {len(units)} sampled unit schemas"
        f" ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    schemas = [unit.schema_name for unit in units]
    union = " UNION ALL ".join(
        f'SELECT state, deadline_flag, channel FROM "{s}".cases_case' for s in schemas
    )
    sql = (
        "SELECT count(*) FILTER (WHERE state <> 'draft'), count(*) FILTER (WHERE deadline_flag ="
        " 'red'), count(*) FILTER (WHERE channel = 'online') FROM (" + union + ") AS every_case"
    )
    samples = []
    for _ in range(5):
        connections.close_all()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchone()
        samples.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
    planning = next((line for line in plan if line.startswith("Planning Time")), "")
    print(
        f"baseline UNION ALL over {len(schemas)} schemas, fresh connection: median"
        f" {statistics.median(samples) * 1000:.0f} ms ({planning.strip()}); it grows with every"
        " schema added (the province has 2,646; DESIGN.md §6: 12.8 s to plan at 2,600)",
        flush=True,
    )


def _fill_cases(unit, count: int) -> None:
    """`count` cases in the unit's own schema, in the states and flags of the ledger's mix."""
    import uuid

    from django.db import connection
    from django.utils import timezone

    from tenant_apps.cases.models import Case

    connection.set_tenant(unit)
    now = timezone.now()
    states = ["submitted", "accepted", "under_review", "decided", "closed"]
    Case.objects.bulk_create(
        Case(
            public_id=uuid.uuid4(),
            number=f"B{unit.code}{n:06d}",
            implementation_id=n % 40,
            implementation_code=f"IMPL{n % 40}",
            item_name=f"事项{n % 40}",
            guide_version_id=1,
            department_id=n % 6,
            department_name=f"部门{n % 6}",
            statutory_days=20,
            promised_days=10,
            applicant_id=1,
            channel=["online", "online", "window", "proxy"][n % 4],
            state=states[n % len(states)],
            deadline_flag="red" if n % 11 == 0 else "",
            submitted_at=now,
        )
        for n in range(count)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")


def _write_outbox(cursor, rows: int) -> None:
    cursor.execute(
        "INSERT INTO public.ledger_caseeventoutbox (tenant_id, case_number, case_public_id, event,"
        " from_state, to_state, at, clock, notify_applicant, notify_staff, details, item_name,"
        " implementation_code, department_id, department_name, channel, applicant_kind)"
        " SELECT t.id, 'L' || n, gen_random_uuid(), 'submit', 'draft', 'submitted',"
        " clock_timestamp(), '{}'::jsonb, false, false, '{}'::jsonb, '事项', 'IMPL' || (n %% 40),"
        " n %% 6, '部门', 'online', 'person'"
        " FROM generate_series(1, %s) AS n JOIN (SELECT id, row_number() OVER (ORDER BY random())"
        " AS i FROM public.tenants_tenant) t ON t.i = n %% 2646 + 1",
        [rows],
    )


def measure_relay() -> None:
    from django.db import connection, transaction

    from shared_apps.supervision import relay

    size = _size()
    with transaction.atomic(), connection.cursor() as cursor:
        _write_outbox(cursor, size["waiting"])
    started = time.perf_counter()
    written = relay.relay(batch=1000)
    elapsed = time.perf_counter() - started
    print(
        f"relay: {written:,} waiting outbox rows ledgered in {elapsed:.1f} s"
        f" ({written / elapsed:,.0f} per second)",
        flush=True,
    )


def measure_lag() -> None:
    from django.db import connection, connections, transaction

    from shared_apps.supervision import relay

    size = _size()
    stop = threading.Event()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM public.ledger_caseeventoutbox")
        first_id = cursor.fetchone()[0]

    def writer():
        try:
            while not stop.is_set():
                with transaction.atomic(), connection.cursor() as cursor:
                    _write_outbox(cursor, WRITE_RATE // 4 // 10)
                time.sleep(0.1)
        finally:
            connections.close_all()

    def follower():
        try:
            while not stop.is_set():
                relay.follow(seconds=2)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    threads.append(threading.Thread(target=follower))
    for thread in threads:
        thread.start()
    time.sleep(size["load_seconds"])
    stop.set()
    for thread in threads:
        thread.join()
    relay.relay()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM e.ledgered_at - o.at) FROM public.supervision_ledgerentry e"
            " JOIN public.ledger_caseeventoutbox o ON o.id = e.outbox_id WHERE o.id > %s",
            [first_id],
        )
        lags = [float(row[0]) for row in cursor.fetchall()]
    p50, p95 = percentiles(lags)
    print(
        f"ledger lag under load ({len(lags):,} events in {size['load_seconds']} s, relay job"
        f" following): p50 {p50:.0f} ms, p95 {p95:.0f} ms (target ≤ {TARGETS['lag']} ms)"
        f" {'met' if p95 <= TARGETS['lag'] else 'MISSED'}",
        flush=True,
    )


def run() -> None:
    _django()
    generate()
    measure_summaries()
    measure_baseline()
    measure_relay()
    measure_lag()


if __name__ == "__main__":
    main()
