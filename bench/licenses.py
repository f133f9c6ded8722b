"""The e-license library: `python -m bench.licenses` (`--small`: quick).

Its own database (`<DATABASE_URL's database>_licensebench`, made and dropped here) with the tests'
sample province. Then:

- issuing: ISSUES licenses through `licenses.actions.issue` (identifier, data signed, PDF rendered
  and signed with PAdES, audit entry, use log), one transaction each; target p95 ≤ 200 ms. The
  same run's baseline: rendering the unsigned PDF alone, and the data signature alone;
- the library filled to 1,000,000 licenses (small: 50,000) with set-based SQL (copies of an issued
  row under new identifiers, without their PDFs, which verification by identifier never reads);
- verification by identifier (`licenses.queries.verify`: structure, look-up, data signature check,
  status) of random licenses; target p95 ≤ 30 ms. Baseline: the same look-up without the
  signature check. And verification of a signed PDF (pyHanko's validation), for scale.
"""

import os
import random
import subprocess
import sys
import time

from bench.common import ROOT, percentiles, scratch_database

SIZES = {"full": {"library": 1_000_000, "issues": 200}, "small": {"library": 50_000, "issues": 50}}
VERIFICATIONS = 2000
PDF_VERIFICATIONS = 50
TARGETS = {"issue": 200, "verify": 30}
HOLDER = "11010519491231002X"  # GB 11643's own example number


def main() -> None:
    small = "--small" in sys.argv
    with scratch_database("licensebench") as url:
        env = {**os.environ, "DATABASE_URL": url, **({"BENCH_SMALL": "1"} if small else {})}
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
        print(f"The sample province: {time.perf_counter() - started:.0f} s", flush=True)
        code = "from bench.licenses import run; run()"
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()


FILL_SQL = """
INSERT INTO public.licenses_license (identifier, license_type_id, serial, version, name, number,
  holder_kind, holder_name, holder_id_digest, holder_id_masked, holder_id_encrypted,
  holder_credit_code,
  issuer_tenant_id, issuer_name, issuer_code, jurisdiction_code, issued_on, valid_until, data,
  trust_grade, source, case_number, status, status_reason, key_id, data_signature, pdf_key_id,
  pdf, pdf_sha256, created_at)
SELECT %(prefix)s || lpad(n::text, 8, '0') || '.001.0', license_type_id, n, 1, name,
  'BENCH' || n, holder_kind, holder_name, md5(n::text) || md5((n + 1)::text), holder_id_masked,
  '',
  '', issuer_tenant_id, issuer_name, issuer_code, jurisdiction_code, issued_on, valid_until,
  data, trust_grade, source, '', 'valid', '', key_id, data_signature, pdf_key_id, ''::bytea,
  pdf_sha256, now()
FROM public.licenses_license, generate_series(%(first)s, %(last)s) AS n
WHERE id = %(template)s
"""


def run() -> None:
    _django()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from shared_apps.catalog.tests.conftest import credit_code_in
    from shared_apps.licenses import actions, documents, identifiers, queries, signing
    from shared_apps.licenses.models import License
    from tenant_apps.departments.actions import create_department
    from tenants.models import Tenant

    size = SIZES["small" if os.environ.get("BENCH_SMALL") else "full"]
    tenant = Tenant.objects.get(code="410102000000")
    with tenant_context(tenant):
        department = create_department(
            actor="system:bench", name="市场监督管理局", credit_code=credit_code_in(tenant)
        )
    connection.set_schema_to_public()
    license_type = actions.save_license_type(
        actor="system:bench",
        code="BENCH01",
        name="食品经营许可证",
        issuing_level=4,
        fields_schema={"type": "object", "properties": {"shop_name": {"type": "string"}}},
        validity_years=5,
    )

    def issue(n: int) -> License:
        return actions.issue(
            actor="system:bench",
            license_type=license_type,
            tenant=tenant,
            issuer_name=f"{tenant.name}{department.name}",
            issuer_code=department.credit_code,
            holder_kind="person",
            holder_name="测试持证人",
            holder_id_number=HOLDER,
            number=f"BENCH-ISSUE-{n}",
            data={"shop_name": f"第{n}号小店"},
            source="api",
        )

    issue(0)  # the unit's key is made on first use: not in the figures
    issued, timings = [], []
    for n in range(1, size["issues"] + 1):
        started = time.perf_counter()
        issued.append(issue(n))
        timings.append(time.perf_counter() - started)
    p50, p95 = percentiles(timings)
    print(
        f"issue (signed data + PAdES PDF, audited), {len(timings)} licenses: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms (target ≤ {TARGETS['issue']} ms)",
        flush=True,
    )
    sample = issued[-1]
    render, sign = [], []
    for _ in range(len(timings)):
        started = time.perf_counter()
        documents.render(sample)
        render.append(time.perf_counter() - started)
        started = time.perf_counter()
        signing.sign_data(sample.key, queries.signed_payload(sample))
        sign.append(time.perf_counter() - started)
    print(
        "baseline: render the unsigned PDF p50 {:.1f} / p95 {:.1f} ms; sign the data "
        "p50 {:.2f} / p95 {:.2f} ms".format(*percentiles(render), *percentiles(sign)),
        flush=True,
    )

    started = time.perf_counter()
    prefix = identifiers.PREFIX + f".FILL.{department.credit_code}."
    batch = 100_000
    total = size["library"] - License.objects.count()
    with connection.cursor() as cursor:
        for first in range(1, total + 1, batch):
            cursor.execute(
                FILL_SQL,
                {
                    "prefix": prefix,
                    "first": first,
                    "last": min(first + batch - 1, total),
                    "template": sample.pk,
                },
            )
        cursor.execute("ANALYZE public.licenses_license")
    print(
        f"library: {License.objects.count():,} licenses ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    # Random licenses across the library: the issued ones (genuine) and the copies (whose data
    # signature does not match their new identifiers: the check runs in full either way).
    candidates = [license.identifier for license in issued]
    picks = [
        random.choice(candidates)
        if random.random() < 0.2
        else f"{prefix}{random.randint(1, total):08d}.001.0"
        for _ in range(VERIFICATIONS)
    ]
    verify, lookup = [], []
    genuine = 0
    for identifier in picks:
        started = time.perf_counter()
        result = queries.verify(identifier)
        verify.append(time.perf_counter() - started)
        genuine += result.genuine
        started = time.perf_counter()
        License.objects.defer("pdf").select_related("license_type", "key").filter(
            identifier=identifier
        ).first()
        lookup.append(time.perf_counter() - started)
    p50, p95 = percentiles(verify)
    print(
        f"verify by identifier, {VERIFICATIONS} random of {License.objects.count():,}: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (target ≤ {TARGETS['verify']} ms); "
        f"{genuine} genuine",
        flush=True,
    )
    print("baseline: the look-up alone p50 {:.1f} / p95 {:.1f} ms".format(*percentiles(lookup)))
    pdfs = [bytes(License.objects.get(pk=license.pk).pdf) for license in issued[:PDF_VERIFICATIONS]]
    timings = []
    for pdf in pdfs:
        started = time.perf_counter()
        assert queries.verify_pdf(pdf).genuine
        timings.append(time.perf_counter() - started)
    print("verify a signed PDF (pyHanko): p50 {:.1f} / p95 {:.1f} ms".format(*percentiles(timings)))


if __name__ == "__main__":
    main()
