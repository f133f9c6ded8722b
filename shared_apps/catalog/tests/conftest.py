import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions, queries
from shared_apps.catalog.models import GuideMaterial, OnlineDepth
from tenant_apps.departments.actions import create_department
from tenants.models import Tenant

PASSWORD = "正确的马电池订书钉"
_credit_serial = iter(range(1, 10_000))


def credit_code_in(tenant) -> str:
    """A fresh, checksum-valid credit code of a government body in the unit's region."""
    from stdnum.cn import uscc

    body = f"11{tenant.code[:6]}MB{next(_credit_serial):07d}"
    return body + uscc.calc_check_digit(body)


def make_department(tenant, name="市场监督管理局", credit_code=None):
    """A department of the unit, created (and registered with the province) by its action."""
    with tenant_context(tenant):
        return create_department(
            actor="system:tests", name=name, credit_code=credit_code or credit_code_in(tenant)
        )


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("catalog-root", password=PASSWORD)


@pytest.fixture
def make_item(root):
    """A published basic item with a guide of three materials."""
    counter = iter(range(1, 1000))

    def make(
        name="食品经营许可",
        item_type="01",
        levels=(4, 5),
        statutory_days=20,
        keywords=(),
        themes=(),
    ):
        code = f"41{item_type}{next(counter):05d}000"
        item = actions.save_basic_item(
            actor=root,
            code=code,
            name=name,
            exercising_levels=list(levels),
            keywords=list(keywords),
            themes=list(themes),
        )
        version = actions.draft_version(
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
        actions.publish_version(version, actor=root)
        return item

    return make


@pytest.fixture
def implement(root):
    """Publish an item in a unit's list, as that unit's administrator."""

    def do(item, tenant, promised_days=10, **overrides):
        department = make_department(tenant)
        version = queries.current_version(item)
        implementation = actions.implement_item(
            actor=root,
            tenant=tenant,
            department=department,
            item=item,
            promised_days=promised_days,
            place=f"{tenant.name}政务服务中心",
            hours="工作日 9:00-17:00",
            enquiry_phone="0371-12345",
            complaint_phone="12345",
            online_depth=OnlineDepth.HANDLING,
            **{"material_ids": [m.id for m in version.materials.all()], **overrides},
        )
        return actions.publish_implementation(implementation, actor=root, tenant=tenant)

    return do


@pytest.fixture
def county_admin(db, root, django_user_model):
    admin = django_user_model.objects.create_user("zhongyuan-admin", password=PASSWORD)
    accounts.grant_role(
        actor=root,
        user=admin,
        tenant=Tenant.objects.get(code="410102000000"),
        role=Role.TENANT_ADMIN,
    )
    return admin
