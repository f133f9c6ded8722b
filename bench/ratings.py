"""Ratings (好差评) at provincial scale: `python -m bench.ratings` (`--small`: quick).

Its own database (`<DATABASE_URL's database>_ratingsbench`, made and dropped here): Henan's 2,646
units; 5,000,000 ratings (small: 200,000) spread over every unit and 40 items each, written with
set-based SQL, and their summaries built by grouping them. Then:

- the province's statistics as published (`/statistics/ratings`: the province's totals and the
  first page of the ranking) from the summaries, from a fresh connection each time (connect
  included): target p95 ≤ 100 ms; and the query alone on an open connection;
- the same run's baseline: the same figures counted from the ratings per request;
- rating submission (`actions.rate`: the case locked, the rating, the summaries, the audit
  entry) in one unit with the ratings above in place: target p95 ≤ 50 ms; beside it the same
  run's baseline of the audit entry alone, which every action pays.
"""

import os
import subprocess
import sys
import time

from bench.common import ROOT, percentiles, scratch_database

SIZES = {
    "full": {"ratings": 5_000_000, "samples": 100, "submissions": 300},
    "small": {"ratings": 200_000, "samples": 30, "submissions": 100},
}
TARGETS = {"statistics": 100, "submission": 50}


def _size() -> dict:
    return SIZES["small" if os.environ.get("BENCH_SMALL") else "full"]


def main() -> None:
    small = "--small" in sys.argv
    with scratch_database("ratingsbench") as url:
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
        code = "from bench.ratings import run; run()"
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


RATINGS_SQL = """
INSERT INTO public.ratings_rating (tenant_id, tenant_code, case_public_id, case_number,
  implementation_code, item_name, department_id, department_name, level, reasons, comment,
  channel, rater_id, at)
SELECT t.id, t.code, md5('rating' || n)::uuid, 'B' || n, t.code || '-' || (n %% 40),
  '事项' || (n %% 40), n %% 6, '部门' || (n %% 6),
  -- mostly satisfied, as in the national figures, varying by unit so the ranking has an order
  CASE WHEN (n + t.i) %% 23 = 0 THEN 5 WHEN (n + t.i) %% 17 = 0 THEN 4 ELSE 1 + n %% 3 END,
  '[]'::jsonb, '', (ARRAY['pc','mobile','qr','sms'])[n %% 4 + 1], n, now()
FROM generate_series(1, %(ratings)s) AS n
JOIN (SELECT id, code, row_number() OVER (ORDER BY code) - 1 AS i, count(*) OVER () AS units
      FROM public.tenants_tenant) t ON t.i = n %% t.units
"""

LEVELS = ", ".join(f"count(*) FILTER (WHERE level = {n})" for n in range(1, 6))
SUMMARIES_SQL = [
    "INSERT INTO public.ratings_itemratingcount (tenant_id, city_code, county_code,"
    " implementation_code, item_name, level_1, level_2, level_3, level_4, level_5,"
    " rectifications, rectified, rectified_on_time)"
    " SELECT tenant_id, rpad(left(tenant_code, 4), 12, '0'), rpad(left(tenant_code, 6), 12, '0'),"
    f" implementation_code, max(item_name), {LEVELS}, count(*) FILTER (WHERE level >= 4),"
    " count(*) FILTER (WHERE level >= 4 AND n % 3 > 0), count(*) FILTER (WHERE level >= 4"
    " AND n % 3 = 1) FROM (SELECT *, id AS n FROM public.ratings_rating) r"
    " GROUP BY tenant_id, tenant_code, implementation_code",
    "INSERT INTO public.ratings_unitratingcount (tenant_id, city_code, county_code, level_1,"
    " level_2, level_3, level_4, level_5, rectifications, rectified, rectified_on_time)"
    " SELECT tenant_id, min(city_code), min(county_code), sum(level_1), sum(level_2),"
    " sum(level_3), sum(level_4), sum(level_5), sum(rectifications), sum(rectified),"
    " sum(rectified_on_time) FROM public.ratings_itemratingcount GROUP BY tenant_id",
    "ANALYZE public.ratings_rating",
    "ANALYZE public.ratings_itemratingcount",
    "ANALYZE public.ratings_unitratingcount",
]

# The baseline: the published figures counted from the ratings on every request.
COUNTED_SQL = f"""
SELECT tenant_id, {LEVELS},
  (count(*) FILTER (WHERE level <= 3))::float / count(*) AS share
FROM public.ratings_rating GROUP BY tenant_id ORDER BY share DESC, count(*) DESC LIMIT 20
"""


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()


def generate() -> None:
    from django.db import connection

    size = _size()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(RATINGS_SQL, {"ratings": size["ratings"]})
        for statement in SUMMARIES_SQL:
            cursor.execute(statement)
        cursor.execute("SELECT count(*) FROM public.ratings_itemratingcount")
        items = cursor.fetchone()[0]
    print(
        f"{size['ratings']:,} ratings and their summaries ({items:,} item rows):"
        f" {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def _published():
    """What the ranking page reads: the province's totals and the ranking's first page."""
    from shared_apps.ratings import queries

    queries.province_figures()
    return [(row.tenant.code, row.satisfied_share) for row in queries.ranking()[:20]]


def _fresh(call) -> float:
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _report(name: str, samples: list[float], target: int | None = None) -> float:
    p50, p95 = percentiles(samples)
    verdict = ""
    if target is not None:
        verdict = f" (target ≤ {target} ms) {'met' if p95 <= target else 'MISSED'}"
    print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms{verdict}", flush=True)
    return p95


def measure_statistics() -> None:
    from django.db import connection

    size = _size()
    first = _published()
    print(f"ranking: first {first[0][0]} ({first[0][1]:.3f} satisfied)")
    _report(
        "province statistics from the summaries, fresh connection",
        [_fresh(_published) for _ in range(size["samples"])],
        TARGETS["statistics"],
    )
    connection.ensure_connection()
    warm = []
    for _ in range(size["samples"]):
        started = time.perf_counter()
        _published()
        warm.append(time.perf_counter() - started)
    _report("province statistics, the queries alone (open connection)", warm)
    counted = []
    for _ in range(5):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(COUNTED_SQL)
            cursor.fetchall()
        counted.append(time.perf_counter() - started)
    _report("baseline: the same figures counted from the ratings per request", counted)


def _delivered_cases(tenant, citizen, count: int) -> list:
    import uuid

    from django.db import connection

    from tenant_apps.cases.models import Case

    connection.set_tenant(tenant)
    rows = [
        Case(
            number=f"BENCH{n:06d}",
            public_id=uuid.uuid4(),
            implementation_id=1,
            implementation_code=f"{tenant.code}-{n % 40}",
            item_name=f"事项{n % 40}",
            guide_version_id=1,
            department_id=n % 6,
            department_name=f"部门{n % 6}",
            statutory_days=20,
            promised_days=10,
            applicant_id=citizen.pk,
            channel="online",
            state="delivered",
        )
        for n in range(count)
    ]
    return Case.objects.bulk_create(rows)


def measure_submission() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from shared_apps.audit.actions import record_audit
    from shared_apps.ratings import actions
    from tenants.models import Tenant

    size = _size()
    tenant = Tenant.objects.get(code="410102000000")
    citizen = get_user_model().objects.create_user("bench-rater")
    cases = _delivered_cases(tenant, citizen, size["submissions"])
    samples = []
    for n, case in enumerate(cases):
        level = 5 if n % 10 == 0 else 1 + n % 3  # one in ten opens a rectification
        started = time.perf_counter()
        actions.rate(
            case, actor=citizen, level=level, reasons=["fast"], comment="慢", channel="mobile"
        )
        samples.append(time.perf_counter() - started)
    _report("rating submission (actions.rate)", samples, TARGETS["submission"])
    connection.set_schema_to_public()
    audit = []
    for n in range(size["submissions"]):
        started = time.perf_counter()
        record_audit(actor=citizen, action="bench.baseline", target=str(n), tenant=tenant)
        audit.append(time.perf_counter() - started)
    _report("baseline: one audit entry alone (record_audit)", audit)


def run() -> None:
    _django()
    generate()
    measure_statistics()
    measure_submission()


if __name__ == "__main__":
    main()
