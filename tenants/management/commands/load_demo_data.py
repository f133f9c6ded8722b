"""Demo data for a fresh platform: demo accounts, the departments a unit of each level really has,
and the demo catalog implemented by every unit."""

import os
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context
from stdnum.cn import uscc

from shared_apps.accounts.actions import grant_role, issue_enrolment_link, register_citizen
from shared_apps.accounts.management.commands.issue_enrolment_link import enrolment_url
from shared_apps.accounts.models import Role
from shared_apps.audit.actions import record_audit
from shared_apps.catalog.demo.departments import DEPARTMENTS
from shared_apps.catalog.demo.load import load_implementations, load_items
from shared_apps.catalog.models import DepartmentRegistration
from tenant_apps.departments.models import Department
from tenants.interrupts import resumable
from tenants.models import Tenant
from tenants.parallel import run_in_chunks
from tenants.progress import Progress
from tenants.provisioning import Outcome

DEMO_ADMIN = "admin"
DEMO_STAFF = [
    DEMO_ADMIN,
    "jinshui-admin",
    "zhongyuan-clerk",
    "erqi-clerk",
    "gulou-clerk",
    "xigong-clerk",
]
DEFAULT_DEMO_PASSWORD = "henan-demo-2026"
DEMO_CITIZEN_ID = "410105199001011233"  # a made-up, checksum-valid number in 金水区


def demo_credit_code(tenant_code: str, serial: int) -> str:
    """A checksum-valid unified social credit code of a government body (机关, 11) in the unit's region."""
    body = f"11{tenant_code[:6]}MB{tenant_code[6:9]}{serial:04d}"
    return body + uscc.calc_check_digit(body)


def _load_chunk(chunk: list[tuple[int, str, str, str]]) -> list[Outcome]:
    outcomes = []
    for tenant_id, schema_name, code, level in chunk:
        with schema_context(schema_name), transaction.atomic():
            # The departments the unit lacks: a unit loaded by an earlier demo catalog gets the
            # ones added since, each keeping its serial (its place in DEPARTMENTS).
            present = {
                value
                for pair in Department.objects.values_list("name", "credit_code")
                for value in pair
            }
            missing = [
                (i, name)
                for i, name in enumerate(DEPARTMENTS[level], start=1)
                if name not in present and demo_credit_code(code, i) not in present
            ]
            if missing:
                _register_departments(
                    Department.objects.bulk_create(
                        Department(
                            name=name,
                            credit_code=demo_credit_code(code, i),
                            phone=f"0371-{int(code[2:6]) % 10000:04d}{i:04d}",
                        )
                        for i, name in missing
                    ),
                    tenant_id,
                )
        outcomes.append(Outcome(schema_name))
    connection.set_schema_to_public()
    return outcomes


class Command(BaseCommand):
    help = (
        "Load demo data: demo accounts, every unit's departments and the demo catalog with every "
        "unit's implementation list (idempotent; resumes where it stopped)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument(
            "--without-cases", action="store_true", help="no demo cases (the benchmarks' own)"
        )

    @resumable
    def handle(self, *args, **options):
        User = get_user_model()
        password = os.environ.get("DEMO_ADMIN_PASSWORD", DEFAULT_DEMO_PASSWORD)
        if not User.objects.filter(username=DEMO_ADMIN).exists():
            root = User.objects.create_superuser(
                DEMO_ADMIN, "admin@example.gov.cn", password, real_name="省级管理员"
            )
            self.stdout.write(f"provincial administrator: {DEMO_ADMIN} / {password}")
            county_admin = User.objects.create_user(
                "jinshui-admin", password=password, phone="13700000000", real_name="金水区管理员"
            )
            grant_role(
                actor=root,
                user=county_admin,
                tenant=Tenant.objects.get(code="410105000000"),
                role=Role.TENANT_ADMIN,
            )
            citizen = register_citizen(
                real_name="张三", id_number=DEMO_CITIZEN_ID, phone="13800000000", password=password
            )
            self.stdout.write(f"county administrator (金水区): jinshui-admin / {password}")
            self.stdout.write(f"citizen: {citizen.phone} / {password}")
        units = list(
            Tenant.objects.filter(provisioned_at__isnull=False, status=Tenant.Status.ACTIVE)
            .order_by("code")
            .values_list("id", "schema_name", "code", "level")
        )
        with Progress(len(units), "demo departments", stream=sys.stderr) as progress:
            run_in_chunks(
                _load_chunk,
                units,
                processes=options["processes"],
                chunk_size=50,
                progress=progress,
            )
        record_audit(actor="system:demo", action="demo.load", data={"units": len(units)})
        self.stdout.write(f"demo departments in {len(units)} units")
        root = User.objects.get(username=DEMO_ADMIN)
        items = load_items(root)
        implemented = load_implementations(items, stream=sys.stderr)
        self.stdout.write(
            f"demo catalog: {len(items)} basic items, {implemented} new implementations"
        )
        if not options["without_cases"]:
            from tenant_apps.cases.demo import load_demo_cases

            added = load_demo_cases(root, password, stream=sys.stderr)
            self.stdout.write(f"demo cases: {added} new")
        self._enrolment_links(User)

    def _enrolment_links(self, User):
        """Demo staff without an authenticator app get a fresh one-time enrolment link at every
        run (an operator's act, as with `manage.py issue_enrolment_link`)."""
        for user in User.objects.filter(username__in=DEMO_STAFF).order_by("username"):
            if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                continue
            code = issue_enrolment_link(actor="system:demo", user=user)
            self.stdout.write(
                f"enrolment link for {user.username} (sign in, then set up the authenticator "
                f"app; once, within 24 hours): {enrolment_url(code)}"
            )


def _register_departments(departments, tenant_id: int) -> None:
    """Register the demo's departments, created in bulk, with the province (in the caller's
    transaction): demo data, not a privileged action, so not audited."""
    DepartmentRegistration.objects.bulk_create(
        DepartmentRegistration(tenant_id=tenant_id, department_id=d.pk, credit_code=d.credit_code)
        for d in departments
    )
