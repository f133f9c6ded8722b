"""Load the demo catalog and every unit's implementation list (idempotent, resumable).

Demo data, loaded in bulk: the basic items with their published guides in one transaction, then
the implementation lists in chunks of units (one transaction each; a re-run adds only the (unit,
item) pairs missing, so an interrupted run resumes). Each step leaves one audit record, not one per
row. An item that already has a published guide keeps it: a database loaded by an earlier demo
catalog keeps those guides and gets the new items.
"""

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Max
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from shared_apps.audit.actions import record_audit
from shared_apps.catalog.codes import LEVEL_OF_TENANT
from shared_apps.catalog.demo.departments import department_name
from shared_apps.catalog.demo.forms import FORMS_DIR, SAMPLE_FILES, form_schema, template_key
from shared_apps.catalog.demo.items import APPLICATION, ITEMS
from shared_apps.catalog.demo.spec import DemoItem
from shared_apps.catalog.models import (
    BasicItem,
    GuideMaterial,
    GuideVersion,
    Implementation,
    ImplementationMaterial,
)
from shared_apps.catalog.search import search_text_for
from tenants.models import Tenant
from tenants.progress import NoProgress, Progress
from tenants.schema_sql import quote_ident

HOURS = "周一至周五 9:00-12:00，13:30-17:30（法定节假日除外）"
TENANTS_PER_TRANSACTION = 250
# Same-day items (即办件): decided on the spot once accepted, promised time limit 0.
SAME_DAY = frozenset({"结婚登记", "补领结婚证", "生育登记", "仅销售预包装食品备案"})


def basic_code(item_type: str, number: int, region: str = "41") -> str:
    return f"{region}{item_type}{number:05d}000"


def item_codes() -> list[str]:
    """Every demo item's basic code: its position in ITEMS (so items are only ever appended)."""
    return [basic_code(spec.item_type, number) for number, spec in enumerate(ITEMS, start=1)]


def sample_urls(template: str, for_organisations: bool) -> tuple[str, str]:
    """The served blank form and sample of a material that is a form ("" if it is none)."""
    if not template:
        return "", ""
    blank, sample = SAMPLE_FILES[template_key(template, for_organisations)]
    return static(f"{FORMS_DIR}/{blank}"), static(f"{FORMS_DIR}/{sample}")


def load_items(actor) -> list[BasicItem]:
    """The basic items, each with a published guide, in ITEMS order."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only provincial administrators may do this."))
    codes = item_codes()
    with transaction.atomic():
        existing = {item.code: item for item in BasicItem.objects.filter(code__in=codes)}
        BasicItem.objects.bulk_create(
            BasicItem(
                code=code,
                name=spec.name,
                item_type=spec.item_type,
                exercising_levels=[LEVEL_OF_TENANT[spec.level]],
                themes=spec.themes,
                keywords=spec.keywords,
                search_text=search_text_for(spec.name, spec.keywords, spec.themes),
            )
            for code, spec in zip(codes, ITEMS, strict=True)
            if code not in existing
        )
        items = list(BasicItem.objects.filter(code__in=codes))
        by_code = {item.code: item for item in items}
        items = [by_code[code] for code in codes]
        guided = _publish_missing_guides(items)
        record_audit(
            actor=actor,
            action="catalog.demo_load_items",
            data={"items": len(items) - len(existing), "guides": guided},
        )
    return items


def _publish_missing_guides(items: list[BasicItem]) -> int:
    """A first published guide version (with its materials) for every item that has none."""
    published = set(
        GuideVersion.objects.filter(
            item__in=items, status=GuideVersion.Status.PUBLISHED
        ).values_list("item_id", flat=True)
    )
    numbers = dict(
        GuideVersion.objects.filter(item__in=items)
        .order_by()
        .values_list("item_id")
        .annotate(last=Max("number"))
    )
    now = timezone.now()
    pending = [
        (item, spec) for item, spec in zip(items, ITEMS, strict=True) if item.id not in published
    ]
    versions = GuideVersion.objects.bulk_create(
        _guide(item, spec, numbers.get(item.id, 0) + 1) for item, spec in pending
    )
    GuideMaterial.objects.bulk_create(
        material
        for version, (_item, spec) in zip(versions, pending, strict=True)
        for material in _materials(version, spec)
    )
    # Drafted with their materials, then published: a published guide's materials are frozen.
    GuideVersion.objects.filter(id__in=[v.id for v in versions]).update(
        status=GuideVersion.Status.PUBLISHED, valid_from=now, published_at=now
    )
    return len(versions)


def _guide(item: BasicItem, spec: DemoItem, number: int) -> GuideVersion:
    depth, visits = spec.online
    return GuideVersion(
        item=item,
        number=number,
        legal_basis=spec.legal_basis,
        conditions=spec.condition_text,
        process=spec.process,
        statutory_days=spec.days,
        fees=list(spec.fees),
        result_name=spec.result_name,
        in_person_visits=visits,
        max_online_depth=depth,
    )


def _materials(version: GuideVersion, spec: DemoItem) -> list[GuideMaterial]:
    first_law = spec.legal_basis.split("》")[0] + "》"
    rows = []
    for material in spec.materials:
        blank, sample = sample_urls(material.template, spec.for_organisations)
        rows.append(
            GuideMaterial(
                version=version,
                name=material.name,
                basis=first_law,
                originals=material.originals,
                copies=material.copies,
                source=material.source,
                necessity=material.necessity,
                blank_form_url=blank,
                sample_url=sample,
                notes=(
                    "可容缺受理：申请人书面承诺后先行受理，在承诺期限内补交"
                    if material.necessity == GuideMaterial.Necessity.LATER
                    else ""
                ),
            )
        )
    return rows


def _departments(schemas: list[str]) -> dict[str, dict[str, tuple]]:
    """Each unit's active departments by name: (id, name, credit code)."""
    found: dict[str, dict[str, tuple]] = {}
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
                found.setdefault(schema, {}).setdefault(department[1], tuple(department))
    return found


def load_implementations(items: list[BasicItem], *, stream=None) -> int:
    """Every active unit implements the demo items of its level, by the department that handles
    them there, with the item's application form."""
    by_level: dict[str, list[tuple[BasicItem, DemoItem]]] = {}
    for item, spec in zip(items, ITEMS, strict=True):
        by_level.setdefault(spec.level, []).append((item, spec))
    # Resumable by (unit, item): a unit interrupted, or loaded before items were added, gets
    # what it lacks.
    done: dict[int, set[int]] = {}
    for tenant_id, item_id in Implementation.objects.filter(item__in=items).values_list(
        "tenant_id", "item_id"
    ):
        done.setdefault(tenant_id, set()).add(item_id)
    tenants = [
        t
        for t in Tenant.objects.filter(
            status=Tenant.Status.ACTIVE, provisioned_at__isnull=False
        ).order_by("code")
        if len(done.get(t.id, ())) < len(by_level.get(t.level, ()))
    ]
    versions = dict(
        GuideVersion.objects.filter(item__in=items, status=GuideVersion.Status.PUBLISHED)
        .order_by("item_id", "-valid_from")
        .distinct("item_id")
        .values_list("item_id", "id")
    )
    guides = {
        v.id: v
        for v in GuideVersion.objects.filter(id__in=versions.values()).only(
            "id", "statutory_days", "in_person_visits", "max_online_depth"
        )
    }
    forms = {
        item.id: Jsonb(form_schema(spec.name, spec.for_organisations, spec.fields))
        for item, spec in zip(items, ITEMS, strict=True)
    }
    total = 0
    progress = Progress(len(tenants), "demo catalog", stream=stream) if stream else NoProgress()
    with progress:
        for start in range(0, len(tenants), TENANTS_PER_TRANSACTION):
            chunk = tenants[start : start + TENANTS_PER_TRANSACTION]
            departments = _departments([t.schema_name for t in chunk])
            rows = [
                row
                for tenant in chunk
                for row in _implementation_rows(
                    tenant,
                    departments.get(tenant.schema_name, {}),
                    [
                        (i, s)
                        for i, s in by_level.get(tenant.level, [])
                        if i.id not in done.get(tenant.id, ())
                    ],
                    versions,
                    guides,
                )
            ]
            with transaction.atomic():
                _insert(rows, forms)
                record_audit(
                    actor="system:demo",
                    action="catalog.demo_load",
                    data={"units": len(chunk), "implementations": len(rows)},
                )
            total += len(rows)
            progress.update(len(chunk))
    return total


def _implementation_rows(tenant, departments, pending, versions, guides):
    level = LEVEL_OF_TENANT[tenant.level]
    place = (
        f"{tenant.name}党政综合便民服务中心"
        if tenant.level == "township"
        else f"{tenant.name}政务服务中心"
    )
    for item, spec in pending:
        department = departments.get(department_name(spec.department, tenant.level))
        if department is None:
            continue
        guide = guides[versions[item.id]]
        fully_online = guide.in_person_visits == 0 and guide.max_online_depth >= 6
        yield (
            tenant.id,
            item.id,
            guide.id,
            f"{department[2]}{level}{item.code}",
            department[0],
            department[1],
            department[2],
            level,
            0 if item.name in SAME_DAY else max(1, guide.statutory_days // 2),
            place,
            guide.max_online_depth,
            fully_online,
        )


def _insert(rows: list[tuple], forms: dict[int, Jsonb]) -> None:
    """The implementations and the materials they ask for, in two statements on the server: the
    form schemas go over once per chunk, not once per row."""
    if not rows:
        return
    implementation = Implementation._meta.db_table
    columns = list(zip(*rows, strict=True))
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH form(item_id, schema) AS (SELECT * FROM unnest(%s::bigint[], %s::jsonb[])),
            new(tenant_id, item_id, version_id, code, department_id, department_name,
                department_credit_code, exercising_level, promised_days, place, online_depth,
                fully_online) AS (
                SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[],
                    %s::bigint[], %s::text[], %s::text[], %s::int[], %s::int[], %s::text[],
                    %s::int[], %s::bool[]))
            INSERT INTO {implementation} (tenant_id, item_id, version_id, code, department_id,
                department_name, department_credit_code, exercising_level, promised_days, place,
                hours, enquiry_phone, complaint_phone, "window", co_implementers, online_depth,
                fully_online, form_schema, status, published_at, created_at, updated_at)
            SELECT new.tenant_id, new.item_id, new.version_id, new.code, new.department_id,
                new.department_name, new.department_credit_code, new.exercising_level,
                new.promised_days, new.place, %s, '12345', '12345', '综合受理窗口', '',
                new.online_depth, new.fully_online, form.schema, %s, %s, %s, %s
            FROM new JOIN form USING (item_id)
            RETURNING id
            """,
            [
                list(forms),
                list(forms.values()),
                *[list(column) for column in columns],
                HOURS,
                Implementation.Status.PUBLISHED,
                now,
                now,
                now,
            ],
        )
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""
            INSERT INTO {ImplementationMaterial._meta.db_table}
                (implementation_id, guide_material_id, as_form_section, notes)
            SELECT i.id, m.id, CASE WHEN m.name = %s THEN %s ELSE '' END, ''
            FROM {implementation} i
            JOIN {GuideMaterial._meta.db_table} m ON m.version_id = i.version_id
            WHERE i.id = ANY(%s)
            ORDER BY i.id, m.id
            """,
            [APPLICATION, APPLICATION, created],
        )
