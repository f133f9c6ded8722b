import hashlib
import itertools
import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import GuideMaterial, OnlineDepth
from shared_apps.catalog.tests.conftest import make_department
from tenant_apps.cases import actions, queries
from tenant_apps.cases.models import Case, ClockState, State

PASSWORD = "正确的马电池订书钉"
FORM = {
    "type": "object",
    "required": ["shop_name", "area"],
    "properties": {
        "shop_name": {"type": "string", "maxLength": 20},
        "area": {"type": "number", "minimum": 1},
    },
    "additionalProperties": False,
}
GOOD_FORM = {"shop_name": "老王烩面馆", "area": 60}
_codes = iter(range(100, 1000))


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("cases-root", password=PASSWORD)


class People:
    def __init__(self, root, tenant, users):
        self.root, self.tenant, self.users = root, tenant, users
        self.citizen = self.person("13700000701", "701")
        self.other_citizen = self.person("13700000702", "702")
        self.clerk = self.staff("case-clerk", Role.WINDOW_CLERK)
        self.clerk2 = self.staff("case-clerk-2", Role.WINDOW_CLERK)
        self.reviewer = self.staff("case-reviewer", Role.REVIEWER)
        self.approver = self.staff("case-approver", Role.APPROVER)
        self.head = self.staff("case-head", Role.DEPARTMENT_HEAD)
        self.agent = self.staff("case-agent", Role.PROXY_AGENT)

    def person(self, phone, sequence):
        # Citizens as registration leaves them, without hashing a password (slow by design).
        return self.users.objects.create_user(
            f"citizen-{sequence}", phone=phone, real_name="王" + sequence
        )

    def staff(self, username, role, tenant=None):
        # No password: hashing one (Argon2) for every test would be slow, and none signs in.
        user = self.users.objects.create_user(username)
        accounts.grant_role(actor=self.root, user=user, tenant=tenant or self.tenant, role=role)
        return user

    def for_role(self, role):
        return {
            "applicant": self.citizen,
            "window_clerk": self.clerk,
            "reviewer": self.reviewer,
            "approver": self.approver,
            "department_head": self.head,
            "proxy_agent": self.agent,
            # The hand-off relay (shared_apps.handoffs) is a label, not a person.
            "system": "system:handoffs",
        }[role]


@pytest.fixture
def upload_folder(settings, tmp_path):
    """Case files stored in the test's own folder, never in the project's var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "uploads"},
        },
    }
    return tmp_path / "uploads"


@pytest.fixture
def people(root, tenant, django_user_model):
    return People(root, tenant, django_user_model)


def publish_service(root, tenant, *, promised_days=10, statutory_days=20):
    code = f"4101{next(_codes):05d}000"
    item = catalog.save_basic_item(
        actor=root, code=code, name="食品经营许可", exercising_levels=[4]
    )
    version = catalog.draft_version(
        item,
        actor=root,
        legal_basis="《食品安全法》第三十五条",
        conditions="有与经营食品相适应的场所",
        process="申请、受理、审查、决定",
        statutory_days=statutory_days,
        max_online_depth=OnlineDepth.E_LICENSE,
        materials=[
            {"name": "申请书"},
            {"name": "营业执照", "source": GuideMaterial.Source.GOVERNMENT},
            {"name": "经营场所平面图", "necessity": GuideMaterial.Necessity.LATER},
        ],
    )
    catalog.publish_version(version, actor=root)
    implementation = catalog.implement_item(
        actor=root,
        tenant=tenant,
        department=make_department(tenant),
        item=item,
        promised_days=promised_days,
        place="政务服务中心",
        hours="工作日",
        enquiry_phone="0371-12345",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        form_schema=FORM,
    )
    connection.set_schema_to_public()
    return catalog.publish_implementation(implementation, actor=root, tenant=tenant)


@pytest.fixture
def service(root, tenant):
    return publish_service(root, tenant)


def uploads(service, *names, case=None):
    """Material entries for the named guide materials, as uploaded files. With `case`, each is a
    CaseFile row of that case (as an upload through the page or the API leaves it, without
    storing content: the entries' validation looks at the row); without, entries that name no
    file (for cases built directly in a state, which no validation sees)."""
    from tenant_apps.cases.models import CaseFile

    rows = service.materials.select_related("guide_material")
    entries = []
    for row in rows:
        if row.guide_material.name not in names:
            continue
        sha256 = hashlib.sha256(row.guide_material.name.encode()).hexdigest()
        if case is None:
            entries.append(
                {
                    "material_id": row.guide_material_id,
                    "kind": "upload",
                    "file_id": str(uuid.uuid4()),
                    "sha256": sha256,
                }
            )
            continue
        file = CaseFile.objects.create(
            case=case,
            material_id=row.guide_material_id,
            uploaded_by_id=case.applicant_id,
            storage_name=f"test/{uuid.uuid4()}",
            original_name=f"{row.guide_material.name}.pdf",
            content_type="application/pdf",
            size=100,
            sha256=sha256,
        )
        entries.append(
            {
                "material_id": row.guide_material_id,
                "kind": "upload",
                "file_id": str(file.public_id),
                "sha256": sha256,
            }
        )
    return entries


REQUIRED = ("申请书", "营业执照")


def submitted_case(service, tenant, applicant):
    connection.set_tenant(tenant)
    draft = actions.save_draft(actor=applicant, implementation=service, form_data=GOOD_FORM)
    return actions.submit(draft, actor=applicant, materials=uploads(service, *REQUIRED, case=draft))


def local(*args) -> datetime:
    from tenant_apps.cases.clock import local_zone

    return datetime(*args, tzinfo=local_zone())


_serial = itertools.count(1)
CLOCK_IN = {
    State.ACCEPTED: ClockState.RUNNING,
    State.UNDER_REVIEW: ClockState.RUNNING,
    State.SUSPENDED: ClockState.PAUSED,
    State.CORRECTIONS_REQUESTED: ClockState.PAUSED,
    State.DECIDED: ClockState.STOPPED,
    State.DELIVERED: ClockState.STOPPED,
    State.CLOSED: ClockState.STOPPED,
    State.WITHDRAWN: ClockState.STOPPED,
    State.FORWARDED: ClockState.PAUSED,
    State.PARALLEL_REVIEW: ClockState.RUNNING,
}


def case_in(state, service, tenant, applicant, *, agent=None, promised_days=10):
    """A case of `service` standing in `state`, as the steps before would have left it."""
    connection.set_tenant(tenant)
    running = CLOCK_IN.get(state) == ClockState.RUNNING
    case = Case(
        number=None if state == State.DRAFT else f"{service.code}20261123{next(_serial):04d}",
        implementation_id=service.pk,
        implementation_code=service.code,
        item_name="食品经营许可",
        guide_version_id=service.version_id,
        department_id=service.department_id,
        department_name=service.department_name,
        statutory_days=20,
        promised_days=promised_days,
        applicant_id=applicant.pk,
        proxy_agent_id=agent.pk if agent else None,
        channel="proxy" if agent else "online",
        state=state,
        return_state=State.UNDER_REVIEW
        if state in (State.CORRECTIONS_REQUESTED, State.SUSPENDED)
        else "",
        form_data=GOOD_FORM,
        materials=uploads(service, *REQUIRED),
        clock_state=CLOCK_IN.get(state, ClockState.NOT_STARTED),
        clock_running_since=timezone.localdate() if running else None,
        clock_days_used=3 if state in CLOCK_IN else 0,
        decision="approved" if state in (State.DECIDED, State.DELIVERED, State.CLOSED) else "",
    )
    connection.set_tenant(tenant)
    case.save()
    # Standing in for the steps, which would have made the workbench count again.
    queries.forget_queue_counts()
    return case
