"""Reads shared by the pages and the API (one record feeds every channel)."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from shared_apps.catalog.models import (
    BasicItem,
    GuideVersion,
    Implementation,
    ImplementationMaterial,
)
from shared_apps.catalog.search import search_items
from tenants.models import Tenant

# How a catalog list may be sorted; relevance is search's order (by code without a query).
SORTS = ("relevance", "name", "code")
LEVEL_OF_TENANT = {"province": 2, "city": 3, "county": 4, "township": 5}


def catalog(
    *,
    q: str = "",
    item_type: str = "",
    level: int | None = None,
    theme: str = "",
    fully_online: bool = False,
    department: str = "",
    sort: str = "",
):
    """Basic items, filtered: level and department and online refer to where they are implemented.
    Sorted by relevance when there is a query, else by code; or by `sort` (SORTS)."""
    items = BasicItem.objects.all()
    if item_type:
        items = items.filter(item_type=item_type)
    if theme:
        items = items.filter(themes__contains=[theme])
    published = Implementation.objects.filter(status=Implementation.Status.PUBLISHED)
    if level:
        published = published.filter(exercising_level=level)
    if department:
        published = published.filter(department_name__contains=department)
    if fully_online:
        published = published.filter(fully_online=True)
    if level or department or fully_online:
        items = items.filter(pk__in=published.values("item_id"))
    return sorted_items(search_items(q, items), sort)


def sorted_items(items, sort: str = ""):
    """Items in the order a list page or the API asks for; search's order (relevance, or code
    without a query) otherwise."""
    if sort == "name":
        return items.order_by("name", "code")
    if sort == "code":
        return items.order_by("code")
    return items


def tenant_services(tenant: Tenant, q: str = "", sort: str = "", theme: str = ""):
    """The basic items of a unit's published implementation list, searchable and by theme, in list
    order (a query set: pages count and slice it; `services_of` gives a page's implementations)."""
    implemented = Implementation.objects.filter(
        tenant=tenant, status=Implementation.Status.PUBLISHED
    )
    items = BasicItem.objects.filter(pk__in=implemented.values("item_id"))
    if theme:
        items = items.filter(themes__contains=[theme])
    items = search_items(q, items)
    return sorted_items(items, sort)


def services_of(tenant: Tenant, items, related=("item",), prefetch=()) -> list[Implementation]:
    """The unit's published implementations of `items` (a page of tenant_services), in their order."""
    order = {item.id: n for n, item in enumerate(items)}
    rows = (
        Implementation.objects.filter(
            tenant=tenant, status=Implementation.Status.PUBLISHED, item_id__in=list(order)
        )
        .select_related(*related)
        .prefetch_related(*prefetch)
    )
    return sorted(rows, key=lambda i: order[i.item_id])


def guide(code: str, tenant: Tenant | None = None) -> Implementation | None:
    """Everything a guide page shows, in three queries."""
    if len(code) != 31 or "\x00" in code:  # PostgreSQL text can't hold NUL
        return None
    implementations = Implementation.objects.filter(
        code=code, status=Implementation.Status.PUBLISHED
    )
    if tenant is not None:
        implementations = implementations.filter(tenant=tenant)
    return (
        implementations.select_related("item", "version", "tenant")
        .prefetch_related(
            Prefetch(
                "materials",
                queryset=ImplementationMaterial.objects.select_related("guide_material"),
            )
        )
        .first()
    )


def current_version(item: BasicItem, at=None) -> GuideVersion | None:
    at = at or timezone.now()
    return (
        item.versions.filter(status=GuideVersion.Status.PUBLISHED, valid_from__lte=at)
        .exclude(valid_to__lte=at)
        .order_by("-valid_from")
        .first()
    )


def validate_application(implementation: Implementation, data: dict) -> list[str]:
    """Problems with an application's form data, in the user's language (empty: valid)."""
    if not implementation.form_schema:
        return []
    validator = Draft202012Validator(implementation.form_schema)
    properties = implementation.form_schema.get("properties", {})
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "required":
            path = [error.message.split("'")[1]] if "'" in error.message else []
        field = path[0] if path else ""
        title = (
            properties.get(field, {}).get("title", field) if isinstance(field, str) else str(field)
        )
        problems.append(
            _("%(field)s: %(problem)s") % {"field": title or _("form"), "problem": _problem(error)}
        )
    return problems


def _problem(error) -> str:
    """jsonschema's reasons, in the user's language."""
    messages = {
        "required": _("this field is required"),
        "pattern": _("the format is not right"),
        "minLength": _("this field is too short"),
        "maxLength": _("this field is too long"),
        "type": _("the value has the wrong type"),
        "enum": _("choose one of the allowed values"),
        "minimum": _("the value is too small"),
        "maximum": _("the value is too large"),
    }
    return messages.get(error.validator, error.message)


# --- bundles (一件事一次办) ------------------------------------------------------------------


def bundle_offer(bundle, tenant) -> list | None:
    """The unit's published implementations of every item of the bundle, in the bundle's item
    order (code), or None when the unit does not offer it (a unit's bundle elsewhere, or an item
    it does not publish)."""
    if bundle.tenant_id is not None and bundle.tenant_id != tenant.id:
        return None
    items = list(bundle.items.order_by("code").values_list("pk", flat=True))
    found = {
        implementation.item_id: implementation
        for implementation in Implementation.objects.filter(
            tenant_id=tenant.id, item_id__in=items, status=Implementation.Status.PUBLISHED
        ).select_related("item", "version")
    }
    if len(found) != len(items):
        return None
    return [found[item] for item in items]


def combined_form_schema(implementations) -> dict:
    """One form for a bundle: the union of the items' JSON Schemas (a field several items ask
    for is asked once). Two items that define one field differently can't share a form:
    ValidationError naming the field."""
    properties, required = {}, []
    for implementation in implementations:
        schema = implementation.form_schema or {}
        for name, definition in (schema.get("properties") or {}).items():
            if name in properties and properties[name] != definition:
                raise ValidationError(
                    _("The items of this bundle define the field “%(field)s” differently.")
                    % {"field": name}
                )
            properties[name] = definition
        required += [name for name in schema.get("required") or [] if name not in required]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def combined_materials(implementations) -> list[dict]:
    """The bundle's materials, given once each: the items' guide materials of the same name are
    one material ({"name", "required", "material_ids": {implementation id: guide material id}})."""
    merged = {}
    for implementation in implementations:
        for row in implementation.materials.select_related("guide_material"):
            material = row.guide_material
            entry = merged.setdefault(
                material.name, {"name": material.name, "required": False, "material_ids": {}}
            )
            entry["material_ids"][implementation.pk] = material.pk
            entry["required"] |= material.necessity == material.Necessity.REQUIRED
    return list(merged.values())
