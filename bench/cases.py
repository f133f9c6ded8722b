"""Cases at provincial scale: `python -m bench.cases` (`--small` for a quick check).

Its own database (`<DATABASE_URL's database>_casebench`, made and dropped here): Henan's 2,646
units with the demo catalog, 200,000 cases in one county (金水区: a history of closed cases, 10 %
waiting to be accepted, the rest open in every state) and 5,000 open cases in each of 50 other
counties, written with set-based SQL (a benchmark fixture, not a path of the platform). Then,
through gunicorn over HTTP (2 workers × 4 threads, keep-alive), in ROUNDS rounds with the spread
of p95 over the rounds:

- the clerk's queue, `GET /api/v1/cases?state=submitted` (and the pages in PAGES that exist in
  this checkout), in the big county and spread over the 50 others: target p95 ≤ 100 ms;
- a case, `GET /api/v1/cases/{id}`: p95 ≤ 50 ms;
- submit (the citizen's `POST /api/v1/my/cases/{id}/submit`) and accept (the clerk's
  `POST /api/v1/cases/{id}/accept`): p95 ≤ 100 ms each;

and the deadline job over every open case in every tenant: the units `run_scheduler` picks, each
unit's `mark_deadlines` run in turn in one process (≤ 2 minutes), against the baseline of the same
run: the job sent to all 2,646 units as before. The job's rounds reset the flags in between.
"""

import hashlib
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid

from bench.common import ROOT, percentiles, scratch_database, start_gunicorn

ROUNDS = 3
BIG_COUNTY = "410105000000"  # 金水区
ITEM = "食品经营许可"
# Pages of the staff workbench, measured where this checkout has them (another branch builds
# them): the clerk's queue.
PAGES = ["/workbench/?queue=to_accept", "/workbench/"]
SIZES = {
    "full": {"big": 200_000, "others": 50, "open_each": 5_000, "samples": 300, "writes": 200},
    "small": {"big": 20_000, "others": 5, "open_each": 1_000, "samples": 100, "writes": 50},
}
TARGETS = {
    "queue": 100,
    "queue page": 100,
    "case": 50,
    "submit": 100,
    "accept": 100,
}


def _size() -> dict:
    return SIZES["small" if os.environ.get("BENCH_SMALL") else "full"]


def main() -> None:
    small = "--small" in sys.argv
    with scratch_database("casebench") as url:
        env = {**os.environ, "DATABASE_URL": url, **({"BENCH_SMALL": "1"} if small else {})}
        started = time.perf_counter()
        for command in (
            ["migrate_tenants"],
            ["import_divisions"],
            ["load_demo_data", "--without-cases"],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        print(f"Henan's units and the demo catalog: {time.perf_counter() - started:.0f} s")
        for step in ("generate", "measure_http", "measure_deadlines"):
            code = f"from bench.cases import {step}; {step}()"
            # Measured without the per-address limits: the samples stand for many people.
            settings = {"DJANGO_SETTINGS_MODULE": "bench.flood_settings"}
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env={**env, **settings}, check=True
            )


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()


def _units():
    """(the big county, the other counties) as Tenant rows."""
    from tenants.models import Tenant

    size = _size()
    counties = list(
        Tenant.objects.filter(level="county", provisioned_at__isnull=False)
        .exclude(code=BIG_COUNTY)
        .order_by("code")[: size["others"]]
    )
    return Tenant.objects.get(code=BIG_COUNTY), counties


def _insert_cases(cursor, tenant, implementation, total: int, history: bool, applicants) -> None:
    """`total` cases of one implementation in the unit's schema, in one INSERT … SELECT. With
    `history`, 60 % are closed and 10 % wait to be accepted; otherwise every case is open:
    30 % submitted, 50 % accepted or under review (clocks running, accepted 0–39 days ago with a
    20-day promised limit: about half past their yellow or due time), 10 % corrections,
    10 % suspended."""
    from tenant_apps.cases.samples import sample_form, sample_materials

    form = sample_form(implementation.form_schema, {"name": "张三"})
    # Written straight into the table, never validated: entries that name no stored file.
    materials = sample_materials(
        implementation,
        lambda material_id, name, content: {
            "material_id": material_id,
            "kind": "upload",
            "file_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{implementation.code}/{material_id}")),
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    schema = tenant.schema_name
    state_of = (
        # i % 20 → state
        "CASE WHEN m < 12 THEN (ARRAY['closed','delivered','decided','not_accepted'])[1 + mod(m, 4)]"
        " WHEN m < 14 THEN 'submitted' WHEN m < 17 THEN (ARRAY['accepted','under_review'])[1 + mod(m, 2)]"
        " WHEN m = 17 THEN 'corrections_requested' WHEN m = 18 THEN 'suspended'"
        " ELSE 'withdrawn' END"
        if history
        else "CASE WHEN m < 6 THEN 'submitted' WHEN m < 16 THEN (ARRAY['accepted','under_review'])[1 + mod(m, 2)]"
        " WHEN m < 18 THEN 'corrections_requested' ELSE 'suspended' END"
    )
    cursor.execute(
        f"""
        INSERT INTO "{schema}".cases_case (public_id, number, implementation_id,
            implementation_code, item_name, guide_version_id, department_id, department_name,
            statutory_days, promised_days, applicant_id, filed_by_id, channel, state,
            return_state, form_data, materials, corrections, clock_state, clock_running_since,
            clock_days_used, extension_days, extension_reason, due_at, statutory_due_at,
            yellow_at, clock_error, deadline_flag, decision, decision_reasons,
            decision_legal_basis, delivery_method, delivery_details, created_at, updated_at,
            submitted_at, accepted_at, decided_at, closed_at)
        SELECT gen_random_uuid(), %(code)s || to_char(sub AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                || lpad((i %% 500)::text, 4, '0'),
            %(impl)s, %(code)s, %(item)s, %(version)s, %(dept)s, %(dept_name)s, 20, 20,
            (%(applicants)s::bigint[])[1 + i %% %(n_applicants)s], NULL, 'online', state,
            CASE WHEN state IN ('corrections_requested', 'suspended') THEN 'under_review' ELSE '' END,
            %(form)s::jsonb, %(materials)s::jsonb,
            CASE WHEN state = 'corrections_requested' THEN '["营业执照复印件不清晰"]'::jsonb
                ELSE '[]'::jsonb END,
            CASE WHEN state IN ('accepted', 'under_review') THEN 'running'
                WHEN state IN ('corrections_requested', 'suspended') THEN 'paused'
                WHEN state = 'submitted' THEN 'not_started' ELSE 'stopped' END,
            CASE WHEN state IN ('accepted', 'under_review')
                THEN (acc AT TIME ZONE 'Asia/Shanghai')::date END,
            CASE WHEN state IN ('corrections_requested', 'suspended') THEN 5 ELSE 0 END,
            0, '',
            CASE WHEN state IN ('accepted', 'under_review') THEN acc + interval '28 days' END,
            CASE WHEN state IN ('accepted', 'under_review') THEN acc + interval '28 days' END,
            CASE WHEN state IN ('accepted', 'under_review') THEN acc + interval '22 days' END,
            '', '',
            CASE WHEN state IN ('decided', 'delivered', 'closed') THEN 'approved' ELSE '' END,
            '', CASE WHEN state IN ('decided', 'delivered', 'closed') THEN '《食品安全法》第三十五条'
                ELSE '' END,
            CASE WHEN state IN ('delivered', 'closed') THEN 'electronic' ELSE '' END, '',
            sub, now(), sub,
            CASE WHEN state NOT IN ('submitted', 'withdrawn', 'not_accepted') THEN acc END,
            CASE WHEN state IN ('decided', 'delivered', 'closed') THEN acc + interval '10 days' END,
            CASE WHEN state IN ('closed', 'withdrawn', 'not_accepted') THEN acc + interval '12 days'
                END
        FROM (
            SELECT i, m, {state_of} AS state,
                date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
                    - interval '1 day' * (1 + i / 500) + interval '9 hours'
                    + interval '1 second' * (i %% 500) AS sub,
                now() - interval '1 day' * (i %% 40) - interval '1 hour' AS acc
            FROM (SELECT i, i %% 20 AS m FROM generate_series(0, %(total)s - 1) AS i) AS n
        ) AS c
        """,
        {
            "code": implementation.code,
            "impl": implementation.pk,
            "item": implementation.item.name,
            "version": implementation.version_id,
            "dept": implementation.department_id,
            "dept_name": implementation.department_name,
            "applicants": applicants,
            "n_applicants": len(applicants),
            "form": json.dumps(form, ensure_ascii=False),
            "materials": json.dumps(materials),
            "total": total,
        },
    )
    # A short history per case: submitted, and accepted where it was.
    cursor.execute(
        f"""
        INSERT INTO "{schema}".cases_caseevent (case_id, at, intent, from_state, to_state, actor,
            actor_user_id, on_behalf_of_id, role, channel, reason, details)
        SELECT id, submitted_at, 'submit', 'draft', 'submitted', 'citizen', applicant_id, NULL::bigint,
            'applicant', 'online', '', '{{}}'::jsonb FROM "{schema}".cases_case
        UNION ALL
        SELECT id, accepted_at, 'accept', 'submitted', 'accepted', 'clerk', NULL::bigint, NULL::bigint,
            'window_clerk', 'online', '', '{{}}'::jsonb FROM "{schema}".cases_case
            WHERE accepted_at IS NOT NULL
        """
    )


def generate() -> None:
    """The cases, a clerk in every measured unit, citizens, and the deadline watch as the
    actions would leave it."""
    _django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    size = _size()
    User = get_user_model()
    started = time.perf_counter()
    with transaction.atomic():
        _generate(size, User)
    # As autovacuum leaves tables after a bulk load (visibility map set: index-only scans).
    big, others = _units()
    with connection.cursor() as cursor:
        for tenant in [big, *others]:
            for table in ("cases_case", "cases_caseevent"):
                cursor.execute(f'VACUUM ANALYZE "{tenant.schema_name}".{table}')
    connection.set_schema_to_public()
    print(
        f"cases: {size['big']:,} in {BIG_COUNTY}, {size['open_each']:,} open in each of "
        f"{size['others']} other counties: {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def _generate(size, User):
    from django.db import connection

    from shared_apps.accounts.actions import grant_role
    from shared_apps.catalog.models import Implementation
    from tenant_apps.cases.transitions import STAFF_ROLES

    root = User.objects.get(username="admin")
    clerk = User.objects.create_user("bench-clerk", real_name="窗口人员")
    big, others = _units()
    for tenant in [big, *others]:
        for role in sorted(STAFF_ROLES):
            grant_role(actor=root, user=clerk, tenant=tenant, role=role)
    applicants = list(
        User.objects.bulk_create(
            User(username=f"bench-citizen-{n}", phone=f"139{n:08d}", real_name=f"王{n}")
            for n in range(1000)
        )
    )
    applicant_ids = [u.pk for u in applicants]
    with connection.cursor() as cursor:
        for tenant in [big, *others]:
            implementation = Implementation.objects.select_related("item").get(
                tenant=tenant, item__name=ITEM
            )
            total = size["big"] if tenant == big else size["open_each"]
            _insert_cases(cursor, tenant, implementation, total, tenant == big, applicant_ids)
            # The watch the accept actions leave: the unit is due from its earliest yellow time.
            cursor.execute(
                "INSERT INTO public.ledger_deadlinewatch (tenant_id, next_mark_at, changes,"
                " running, clock_errors)"
                f' SELECT %s, min(yellow_at), 1, 0, 0 FROM "{tenant.schema_name}".cases_case'
                " WHERE clock_state = 'running'",
                [tenant.pk],
            )


def _tokens(tenant_codes):
    """Fresh bearer tokens (they last 15 minutes): the clerk's, and the demo citizen's."""
    from django.contrib.auth import get_user_model

    from shared_apps.accounts.actions import issue_user_tokens

    User = get_user_model()
    clerk = issue_user_tokens(User.objects.get(username="bench-clerk")).access_token
    citizen = issue_user_tokens(User.objects.get(phone="13800000000")).access_token
    return clerk, citizen


def _page_session():
    """A signed-in clerk's session cookie (second factor done), for the pages."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.get(username="bench-clerk")
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def measure_http() -> None:
    _django()
    from django.conf import settings
    from django.db import connection

    from shared_apps.catalog.models import Implementation
    from tenant_apps.cases.models import Case
    from tenant_apps.cases.samples import sample_form, sample_materials

    size = _size()
    rng = random.Random(10)
    big, others = _units()
    host = {t.code: f"{t.subdomain}.{settings.BASE_DOMAIN}" for t in [big, *others]}
    connection.set_tenant(big)
    big_cases = list(Case.objects.values_list("public_id", flat=True)[: size["samples"] * 20])
    connection.set_schema_to_public()
    implementation = Implementation.objects.select_related("item").get(tenant=big, item__name=ITEM)
    form = sample_form(implementation.form_schema, {"name": "张三"})
    cookie = _page_session()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_gunicorn(
        os.environ.copy(), port, "--worker-class", "gthread", "--threads", "4", "--timeout", "300"
    )
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        http_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

        def call(method, code, path, token=None, body=None, page=False):
            headers = {"Host": host[code]}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            if page:
                headers["Cookie"] = cookie
            if body is not None:
                headers["Content-Type"] = "application/json"
                headers["Idempotency-Key"] = str(uuid.uuid4())
            started = time.perf_counter()
            http_conn.request(method, path, body=json.dumps(body) if body is not None else None,
                              headers=headers)  # fmt: skip
            response = http_conn.getresponse()
            data = response.read()
            return time.perf_counter() - started, response.status, data

        def upload(code, draft, token):
            """`attach` for sample_materials: the draft's files through the upload API."""

            def attach(material_id, name, content):
                boundary = uuid.uuid4().hex
                body = b"".join(
                    [
                        f'--{boundary}\r\nContent-Disposition: form-data; name="material_id"'
                        f"\r\n\r\n{material_id}\r\n".encode(),
                        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                        f'filename="{material_id}.pdf"\r\nContent-Type: application/pdf'
                        "\r\n\r\n".encode(),
                        content,
                        f"\r\n--{boundary}--\r\n".encode(),
                    ]
                )
                headers = {
                    "Host": host[code],
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                }
                http_conn.request("POST", f"/api/v1/my/cases/{draft}/files", body, headers)
                response = http_conn.getresponse()
                data = response.read()
                assert response.status == 201, (response.status, data[:300])
                reply = json.loads(data)
                return {k: reply[k] for k in ("material_id", "kind", "file_id", "sha256")}

            return attach

        clerk, citizen = _tokens([big.code, *[t.code for t in others]])
        pages = []
        for page in PAGES:
            _, status, _ = call("GET", big.code, page, page=True)
            if status == 200:
                pages.append(page)
            print(f"page {page}: {status}{'' if status == 200 else ' (not measured)'}", flush=True)
        for round_ in range(ROUNDS):
            clerk, citizen = _tokens(None)
            measured = {}
            # Warm both workers on every unit.
            for code in host:
                for _ in range(4):
                    call("GET", code, "/api/v1/cases?state=submitted", clerk)
            for label, units in (
                ("big county", [big.code]),
                (f"{len(others)} other counties", list(host)[1:]),
            ):
                samples = []
                for n in range(size["samples"]):
                    code = units[n % len(units)]
                    elapsed, status, _ = call("GET", code, "/api/v1/cases?state=submitted", clerk)
                    assert status == 200, status
                    samples.append(elapsed)
                measured[f"queue ({label})"] = samples
                for page in pages:
                    samples = []
                    for n in range(size["samples"] // 2):
                        elapsed, status, _ = call("GET", units[n % len(units)], page, page=True)
                        assert status == 200, status
                        samples.append(elapsed)
                    measured[f"queue page {page} ({label})"] = samples
            samples = []
            for case_id in rng.sample(big_cases, size["samples"]):
                elapsed, status, _ = call("GET", big.code, f"/api/v1/cases/{case_id}", clerk)
                assert status == 200, status
                samples.append(elapsed)
            measured["case (big county)"] = samples
            if pages:  # the workbench is there: its case page too
                samples = []
                for case_id in rng.sample(big_cases, size["samples"] // 2):
                    path = f"/workbench/cases/{case_id}"
                    elapsed, status, _ = call("GET", big.code, path, page=True)
                    assert status == 200, status
                    samples.append(elapsed)
                measured["case page /workbench/cases/<id> (big county)"] = samples
            # Submit and accept: drafts started and their files uploaded over the API first
            # (not measured).
            drafts = []
            for _ in range(size["writes"]):
                _, status, data = call(
                    "POST", big.code, "/api/v1/my/cases", citizen,
                    {"implementation_code": implementation.code, "form_data": form},
                )  # fmt: skip
                assert status == 201, (status, data[:300])
                draft = json.loads(data)["id"]
                files = sample_materials(implementation, upload(big.code, draft, citizen))
                drafts.append((draft, files))
            submits, accepts = [], []
            for draft, files in drafts:
                elapsed, status, data = call(
                    "POST", big.code, f"/api/v1/my/cases/{draft}/submit", citizen,
                    {"materials": files},
                )  # fmt: skip
                assert status == 200, (status, data[:300])
                submits.append(elapsed)
            for draft, _files in drafts:
                elapsed, status, data = call(
                    "POST", big.code, f"/api/v1/cases/{draft}/accept", clerk, {}
                )
                assert status == 200, (status, data[:300])
                accepts.append(elapsed)
            measured["submit (big county)"] = submits
            measured["accept (big county)"] = accepts
            for kind, samples in measured.items():
                results.setdefault(kind, []).append(percentiles(samples))
            print(
                f"round {round_ + 1} of {ROUNDS}, p95 ms: "
                + ", ".join(f"{k} {r[-1][1]:.1f}" for k, r in results.items()),
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{'figure (HTTP, gunicorn 2 × 4 threads)':48} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p95 spread':>14}   target p95")  # fmt: skip
    for kind, rounds in results.items():
        p50 = statistics.median(r[0] for r in rounds)
        p95s = [r[1] for r in rounds]
        target = next(v for k, v in sorted(TARGETS.items(), key=lambda kv: -len(kv[0]))
                      if kind.startswith(k))  # fmt: skip
        verdict = "met" if statistics.median(p95s) <= target else "MISSED"
        print(
            f"{kind:48} {p50:8.2f} {statistics.median(p95s):8.2f} "
            f"{min(p95s):6.1f}–{max(p95s):6.1f}   ≤ {target} ms {verdict}",
            flush=True,
        )


def measure_deadlines() -> None:
    """The deadline job over every open case in every tenant: the units the scheduler picks, each
    unit's job in turn; baseline: the job in all 2,646 units (what was sent before)."""
    _django()
    from django.db import connection
    from django.utils import timezone

    from tenant_apps.cases import actions
    from tenant_apps.cases.management.commands.run_scheduler import units_to_mark
    from tenants.models import Tenant

    big, others = _units()
    schemas = [t.schema_name for t in [big, *others]]

    def open_counts():
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT count(*) FILTER (WHERE clock_state = 'running'),"
                    f" count(*) FILTER (WHERE state NOT IN ('closed', 'withdrawn', 'not_accepted',"
                    f" 'decided', 'delivered', 'draft')) FROM \"{s}\".cases_case"
                    for s in schemas
                )
            )
            rows = cursor.fetchall()
        return sum(r[0] for r in rows), sum(r[1] for r in rows)

    def reset():
        """Flags back to unmarked, the watch due, the outbox rows of the last run gone."""
        with connection.cursor() as cursor:
            for s in schemas:
                cursor.execute(
                    f"UPDATE \"{s}\".cases_case SET deadline_flag = '' WHERE deadline_flag <> ''"
                )
            cursor.execute(
                "DELETE FROM public.ledger_caseeventoutbox WHERE event LIKE 'deadline.%'"
            )
            cursor.execute("UPDATE public.ledger_deadlinewatch SET next_mark_at = now()")
            cursor.execute("VACUUM ANALYZE public.ledger_caseeventoutbox")
        connection.set_schema_to_public()

    def run(codes):
        marked = {"yellow": 0, "red": 0, "unknown": 0}
        at = timezone.now()
        started = time.perf_counter()
        for tenant in Tenant.objects.filter(code__in=codes).order_by("code"):
            connection.set_tenant(tenant)
            for key, value in actions.mark_deadlines(at=at).items():
                marked[key] += value
        connection.set_schema_to_public()
        return time.perf_counter() - started, marked

    running, open_ = open_counts()
    print(f"deadline job: {open_:,} open cases, {running:,} with running clocks, "
          f"in {len(schemas)} units", flush=True)  # fmt: skip
    times = []
    for round_ in range(ROUNDS):
        reset()
        started = time.perf_counter()
        codes = units_to_mark()
        picked = time.perf_counter() - started
        elapsed, marked = run(codes)
        times.append(picked + elapsed)
        print(
            f"round {round_ + 1}: {len(codes)} units picked in {picked * 1000:.0f} ms, job "
            f"{elapsed:.1f} s, marked {marked}",
            flush=True,
        )
    # Baseline: every unit, as the scheduler sent it before (flags reset first, same work).
    reset()
    every = units_to_mark(every_unit=True)
    baseline, marked = run(every)
    # Nothing left to mark: what a quiet interval costs the picked units.
    started = time.perf_counter()
    quiet = units_to_mark()
    quiet_time = time.perf_counter() - started
    print(f"{'figure':60} {'seconds':>8}   target")
    print(
        f"{'deadline job, units with clocks to mark (median, min–max)':60} "
        f"{statistics.median(times):8.1f}   ≤ 120 s "
        f"{'met' if statistics.median(times) <= 120 else 'MISSED'} "
        f"({min(times):.1f}–{max(times):.1f})"
    )
    print(f"{'baseline: the job in all ' + str(len(every)) + ' units':60} {baseline:8.1f}")
    print(
        f"{'next interval with nothing due: units picked':60} {len(quiet):8d}"
        f"   ({quiet_time * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
