import itertools

import pytest
from django.db import connection

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import GuideMaterial, OnlineDepth
from shared_apps.catalog.tests.conftest import make_department
from tenant_apps.cases.tests.conftest import FORM, upload_folder  # noqa: F401 (a fixture)
from tenants.models import Tenant

_codes = itertools.count(500)


@pytest.fixture
def county(db):
    """中原区 (a county of 郑州市)."""
    return Tenant.objects.get(code="410102000000")


@pytest.fixture
def township(db):
    """林山寨街道, a township of 中原区."""
    return Tenant.objects.get(code="410102001000")


@pytest.fixture
def city(db):
    return Tenant.objects.get(code="410100000000")


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("handoff-root", password="x")


def publish_item(root, units, *, levels=(3, 4, 5), promised_days=10, statutory_days=20):
    """One basic item, implemented and published by each of `units`: {unit code: implementation}."""
    code = f"4101{next(_codes):05d}000"
    item = catalog.save_basic_item(
        actor=root, code=code, name="食品小作坊登记", exercising_levels=list(levels)
    )
    version = catalog.draft_version(
        item,
        actor=root,
        legal_basis="《河南省食品小作坊、小经营店和小摊点管理条例》第十二条",
        conditions="有固定的生产加工场所",
        process="申请、受理、审查、决定",
        statutory_days=statutory_days,
        max_online_depth=OnlineDepth.E_LICENSE,
        materials=[
            {"name": "申请书"},
            {"name": "营业执照", "source": GuideMaterial.Source.GOVERNMENT},
        ],
    )
    catalog.publish_version(version, actor=root)
    published = {}
    for unit in units:
        implementation = catalog.implement_item(
            actor=root,
            tenant=unit,
            department=make_department(unit),
            item=item,
            promised_days=promised_days,
            place="便民服务中心",
            hours="工作日",
            enquiry_phone="0371-12345",
            complaint_phone="12345",
            online_depth=OnlineDepth.HANDLING,
            material_ids=[m.id for m in version.materials.all()],
            form_schema=FORM,
        )
        connection.set_schema_to_public()
        published[unit.code] = catalog.publish_implementation(
            implementation, actor=root, tenant=unit
        )
    return published


class Staff:
    """The people of a test: a citizen, and one staff member holding every case role in each
    unit (window clerk, reviewer, approver, department head)."""

    def __init__(self, root, users, units):
        self.citizen = users.objects.create_user(
            "citizen-801", phone="13700000801", real_name="王八零一"
        )
        self.of = {}
        for unit in units:
            person = users.objects.create_user(f"staff-{unit.code}")
            for role in (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD):
                accounts.grant_role(actor=root, user=person, tenant=unit, role=role)
            self.of[unit.code] = person


def handed_over(number: str, *, implementation_id: int = 0, days_used: int = 2) -> dict:
    """The payload of a case handed over as the sending unit's action writes it (an
    implementation id no unit publishes: the receiving case keeps the sender's item)."""
    from django.utils import timezone

    now = timezone.now().isoformat()
    return {
        "number": number,
        "implementation_id": implementation_id,
        "implementation_code": "11410102MB0000008T5410100504000",
        "item_name": "食品小作坊登记",
        "guide_version_id": 0,
        "department_name": "市场监督管理所",
        "statutory_days": 20,
        "promised_days": 10,
        "applicant_id": 0,
        "organisation_id": None,
        "proxy_agent_id": None,
        "proxy_consent_id": None,
        "filed_by_id": None,
        "channel": "window",
        "form_data": {"shop_name": "老王烩面馆", "area": 60},
        "materials": [],
        "submitted_at": now,
        "accepted_at": now,
        "days_used": days_used,
        "extension_days": 0,
        "extension_reason": "",
        "sent_at": now,
        "reason": "",
        "decision": "",
        "decision_reasons": "",
        "decision_legal_basis": "",
        "decided_at": None,
    }
