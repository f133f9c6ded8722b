"""Load the demo catalog and every unit's implementation list (idempotent)."""

from django.db import connection, transaction
from django.utils import timezone

from shared_apps.audit.actions import record_audit
from shared_apps.catalog import actions, queries
from shared_apps.catalog.codes import LEVEL_OF_TENANT, implementation_code
from shared_apps.catalog.demo.items import APPLICATION, ITEMS
from shared_apps.catalog.models import (
    BasicItem,
    GuideMaterial,
    Implementation,
    ImplementationMaterial,
    OnlineDepth,
)
from tenants.models import Tenant
from tenants.schema_sql import quote_ident

APPLICATION_FORM = {
    "type": "object",
    "title": "申请表",
    "required": ["applicant_name", "id_number", "phone"],
    "properties": {
        "applicant_name": {"type": "string", "title": "申请人姓名", "minLength": 1},
        "id_number": {"type": "string", "title": "身份证号码", "pattern": "^[0-9]{17}[0-9X]$"},
        "phone": {"type": "string", "title": "联系电话", "pattern": "^1[0-9]{10}$"},
        "address": {"type": "string", "title": "联系地址"},
        "remarks": {"type": "string", "title": "申请事项说明"},
    },
}


def basic_code(item_type: str, number: int, region: str = "41") -> str:
    return f"{region}{item_type}{number:05d}000"


def load_items(actor) -> list[BasicItem]:
    """The basic items, each with a published guide."""
    items = []
    for number, (name, item_type, level, _dept, themes, keywords, days, materials) in enumerate(
        ITEMS, start=1
    ):
        code = basic_code(item_type, number)
        item = BasicItem.objects.filter(code=code).first() or actions.save_basic_item(
            actor=actor,
            code=code,
            name=name,
            exercising_levels=[LEVEL_OF_TENANT[level]],
            themes=themes,
            keywords=keywords,
        )
        if queries.current_version(item) is None:
            actions.publish_version(_draft(item, actor, name, days, materials), actor=actor)
        items.append(item)
    return items


def _draft(item, actor, name, days, materials):
    fully_online = days <= 5

    def necessity(n):
        if n < 2:
            return GuideMaterial.Necessity.REQUIRED
        return GuideMaterial.Necessity.LATER if n == 3 else GuideMaterial.Necessity.OPTIONAL

    return actions.draft_version(
        item,
        actor=actor,
        legal_basis=(
            f"《中华人民共和国行政许可法》；{name}相关法律、法规"
            if item.item_type == "01"
            else f"{name}相关法律、法规和规章"
        ),
        conditions=f"符合{name}相关规定条件的申请人",
        process="申请 → 受理 → 审查 → 决定 → 送达",
        statutory_days=days,
        fees=[],
        result_name=f"{name}结果文书",
        in_person_visits=0 if fully_online else 1,
        max_online_depth=OnlineDepth.E_LICENSE if fully_online else OnlineDepth.ACCEPTANCE,
        materials=[
            {
                "name": m,
                "basis": "办事指南",
                "necessity": necessity(n),
                "source": GuideMaterial.Source.GOVERNMENT
                if "证" in m and m != APPLICATION
                else GuideMaterial.Source.APPLICANT,
            }
            for n, m in enumerate(materials)
        ],
    )


def _departments(schemas: list[str]) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), 200):
            batch = schemas[start : start + 200]
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT %s::text, id, name, credit_code FROM {quote_ident(s)}.departments_department WHERE is_active"
                    for s in batch
                ),
                batch,
            )
            for schema, *department in cursor.fetchall():
                found.setdefault(schema, []).append(tuple(department))
    return found


def load_implementations(items: list[BasicItem]) -> int:
    """Every active unit implements the demo items of its level, with its own department."""
    by_level: dict[str, list[tuple[BasicItem, tuple]]] = {}
    for item, spec in zip(items, ITEMS, strict=True):
        by_level.setdefault(spec[2], []).append((item, spec))
    done = set(Implementation.objects.values_list("tenant_id", flat=True).distinct())
    tenants = [
        t
        for t in Tenant.objects.filter(status=Tenant.Status.ACTIVE, provisioned_at__isnull=False)
        if t.id not in done
    ]
    departments = _departments([t.schema_name for t in tenants])
    versions = {item.id: queries.current_version(item) for item in items}
    guide_materials = {v.id: list(v.materials.all()) for v in versions.values()}
    now = timezone.now()
    rows, material_rows = [], []
    for tenant in tenants:
        own = departments.get(tenant.schema_name, [])
        for item, (_name, _type, _level, dept_name, *_rest) in by_level.get(tenant.level, []):
            department = next((d for d in own if dept_name in d[1] or d[1] in dept_name), None)
            if department is None:
                continue
            version = versions[item.id]
            level = LEVEL_OF_TENANT[tenant.level]
            fully_online = version.in_person_visits == 0
            rows.append(
                Implementation(
                    tenant=tenant,
                    item=item,
                    version=version,
                    code=implementation_code(department[2], level, item.code),
                    department_id=department[0],
                    department_name=department[1],
                    department_credit_code=department[2],
                    exercising_level=level,
                    promised_days=max(1, version.statutory_days // 2),
                    place=f"{tenant.name}政务服务中心",
                    hours="周一至周五 9:00-12:00，13:30-17:30（法定节假日除外）",
                    enquiry_phone="12345",
                    complaint_phone="12345",
                    window="综合受理窗口",
                    online_depth=version.max_online_depth,
                    fully_online=fully_online,
                    form_schema=APPLICATION_FORM,
                    status=Implementation.Status.PUBLISHED,
                    published_at=now,
                )
            )
    with transaction.atomic():
        Implementation.objects.bulk_create(rows, batch_size=2000)
        for implementation in rows:
            for material in guide_materials[implementation.version_id]:
                material_rows.append(
                    ImplementationMaterial(
                        implementation=implementation,
                        guide_material=material,
                        as_form_section="申请表" if material.name == APPLICATION else "",
                    )
                )
        ImplementationMaterial.objects.bulk_create(material_rows, batch_size=5000)
        record_audit(
            actor="system:demo", action="catalog.demo_load", data={"implementations": len(rows)}
        )
    return len(rows)
