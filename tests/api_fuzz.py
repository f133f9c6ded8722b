"""API fuzzing (CI step): schemathesis against both checked OpenAPI documents, on a real gunicorn,
anonymously and with a unit administrator's token. Fails on any server error or any response the
document does not allow (status, content type, body, headers).

    DATABASE_URL=postgres://… python -m tests.api_fuzz [--max-time SECONDS-PER-RUN]

It makes its own database `<DATABASE_URL's database>_apifuzz` on the same server (dropped after),
loads the sample province of the tests, a department and a published catalog item, and serves the
platform on a free port. Figures (requests, failures, duration) are printed at the end."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import scratch_database
from tests.servers import free_port, start_gunicorn

ROOT = Path(__file__).resolve().parents[1]
BASE_DOMAIN = "gov.localhost"
COUNTY = "410102000000"  # 中原区 in the sample province
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)

# Run inside the scratch database: what the authenticated run acts on, and its token.
PREPARE = """
from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import API_SCOPES, Role, User
from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import OnlineDepth
from tenants.models import Tenant
from tenant_apps.departments.actions import create_department
from django_tenants.utils import schema_context
from stdnum.cn import uscc

root = User.objects.create_superuser("fuzz-root", password="fuzz-root-password-1")
county = Tenant.objects.get(code="{county}")
admin = User.objects.create_user("fuzz-admin", password="fuzz-admin-password-1")
accounts.grant_role(actor=root, user=admin, tenant=county, role=Role.TENANT_ADMIN)
with schema_context(county.schema_name):
    body = "11410102MB0000001"
    create_department(actor=root, name="市场监督管理局", credit_code=body + uscc.calc_check_digit(body))
item = catalog.save_basic_item(actor=root, code="410100001000", name="食品经营许可",
                               exercising_levels=[4, 5])
version = catalog.draft_version(item, actor=root, legal_basis="《食品安全法》", conditions="场所",
    process="申请、受理、决定", statutory_days=20, max_online_depth=OnlineDepth.E_LICENSE,
    materials=[{{"name": "申请书"}}])
catalog.publish_version(version, actor=root)
issued = accounts.issue_user_tokens(admin, scopes=list(API_SCOPES))
print(json.dumps({{"token": issued.access_token, "host": county.subdomain + ".{base}"}}))
"""


def _manage(env: dict, *args: str, capture: bool = False) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
    )
    return done.stdout or ""


def _serve(env: dict, port: int, log: Path) -> subprocess.Popen:
    options = ("--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "60")
    return start_gunicorn(env, port, log.open("w"), *options)


def _fuzz(name, document, port, host, headers, max_time, report_dir) -> dict:
    report = report_dir / f"{name}.ndjson"
    command = [
        str(Path(sys.executable).parent / "st"), "run", str(ROOT / "docs" / "openapi" / document),
        "--url", f"http://127.0.0.1:{port}", "-H", f"Host: {host}",
        "--checks", CHECKS, "--max-time", str(max_time), "--workers", "1", "--seed", "20261128",
        "--generation-database", "none", "--no-color", "--output-truncate", "true",
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]  # fmt: skip
    # One worker: with threads, hypothesis's ast.parse (describing filters) trips CPython 3.11's
    # "AST constructor recursion depth mismatch" SystemError, failing the run on a tool error.
    for header in headers:
        command += ["-H", header]
    started = time.monotonic()
    # In the report folder: schemathesis keeps a cache of crashes in its working directory.
    done = subprocess.run(command, cwd=report_dir, text=True, capture_output=True)
    figures = {
        "run": name,
        "seconds": round(time.monotonic() - started, 1),
        "exit": done.returncode,
        **_figures(report),
    }
    if done.returncode != 0:
        print(done.stdout[-20000:], file=sys.stderr)
    return figures


def _figures(report: Path) -> dict:
    """Requests sent and failures found, from schemathesis's ndjson event log."""
    requests = failures = 0
    for line in report.read_text(encoding="utf-8").splitlines() if report.exists() else []:
        event = json.loads(line)
        for kind, data in event.items():
            if kind == "ScenarioFinished":
                recorder = data.get("recorder", {})
                requests += sum(
                    len(i) if isinstance(i, list) else 1
                    for i in recorder.get("interactions", {}).values()
                )
                failures += sum(
                    1
                    for checks in recorder.get("checks", {}).values()
                    for check in checks
                    if check.get("status") == "failure"
                )
    return {"requests": requests, "failed_checks": failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=45, help="seconds per run (4 runs)")
    options = parser.parse_args()
    report_dir = Path(tempfile.mkdtemp(prefix="apifuzz-"))
    with scratch_database("apifuzz") as url:
        env = {**os.environ, "DATABASE_URL": url, "PLATFORM_BASE_DOMAIN": BASE_DOMAIN}
        env.pop("DRAMATIQ_BROKER_URL", None)  # jobs queue in the scratch database
        _manage(env, "migrate_tenants")
        _manage(env, "import_divisions", str(ROOT / "tests" / "data" / "sample_divisions.csv"))
        prepared = json.loads(
            _manage(
                env,
                "shell",
                "-c",
                "import json\n" + PREPARE.format(county=COUNTY, base=BASE_DOMAIN),
                capture=True,
            )
            .strip()
            .splitlines()[-1]
        )
        port = free_port()
        log = report_dir / "server.log"
        server = _serve(env, port, log)
        try:
            bearer = f"Authorization: Bearer {prepared['token']}"
            runs = [
                ("portal-anonymous", "portal.json", BASE_DOMAIN, []),
                ("portal-unit-admin", "portal.json", BASE_DOMAIN, [bearer]),
                ("tenant-anonymous", "tenant.json", prepared["host"], []),
                ("tenant-unit-admin", "tenant.json", prepared["host"], [bearer]),
            ]
            results = [
                _fuzz(name, document, port, host, headers, options.max_time, report_dir)
                for name, document, host, headers in runs
            ]
        finally:
            server.terminate()
            server.wait(timeout=30)
    server_errors = log.read_text(encoding="utf-8").count("Internal Server Error")
    for r in results:
        print(
            f"{r['run']:<20} {r['requests']:>7} requests {r['seconds']:>6} s "
            f"{r['failed_checks']:>4} failed checks  exit {r['exit']}"
        )
    print(f"server errors logged: {server_errors}; reports and server log in {report_dir}")
    return 1 if server_errors or any(r["exit"] != 0 for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
