"""Changes to the catalog and to implementation lists: atomic, with their actor and an audit entry."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from shared_apps.accounts.authz import has_role
from shared_apps.accounts.models import Role
from shared_apps.audit.actions import record_audit
from shared_apps.catalog.codes import (
    LEVEL_OF_TENANT,
    implementation_code,
    item_type_of,
    validate_basic_code,
)
from shared_apps.catalog.fees import check_fee
from shared_apps.catalog.models import (
    BasicItem,
    Bundle,
    DepartmentRegistration,
    GuideFee,
    GuideMaterial,
    GuideVersion,
    Implementation,
    ImplementationMaterial,
    ParallelDepartment,
    ParallelReview,
    ParallelRule,
)
from shared_apps.catalog.queries import current_version
from shared_apps.catalog.search import search_text_for

GUIDE_FIELDS = [
    "legal_basis",
    "conditions",
    "process",
    "statutory_days",
    "fees",
    "result_name",
    "in_person_visits",
    "intermediary_services",
    "max_online_depth",
]


def _require_provincial_admin(actor):
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only provincial administrators may do this."))


def save_basic_item(
    *,
    actor,
    code: str,
    name: str,
    exercising_levels: list[int],
    themes=(),
    keywords=(),
    main_item_code: str | None = None,
    request=None,
) -> BasicItem:
    """Create or update a basic item's identity (its guide changes only by new versions)."""
    _require_provincial_admin(actor)
    validate_basic_code(code)
    if not name.strip():
        raise ValidationError({"name": [_("Enter the item's name.")]})
    main = BasicItem.objects.filter(code=main_item_code).first() if main_item_code else None
    if main_item_code and main is None:
        raise ValidationError(
            {"main_item": [_("No basic item has the code %(code)s.") % {"code": main_item_code}]}
        )
    with transaction.atomic():
        item, created = BasicItem.objects.update_or_create(
            code=code,
            defaults={
                "name": name.strip(),
                "item_type": item_type_of(code),
                "exercising_levels": list(exercising_levels),
                "themes": list(themes),
                "keywords": list(keywords),
                "main_item": main,
                "search_text": search_text_for(name, list(keywords), list(themes)),
            },
        )
        record_audit(
            actor=actor,
            action="catalog.save_item",
            target=code,
            data={"created": created},
            request=request,
        )
    return item


def draft_version(
    item: BasicItem, *, actor, materials: list[dict], fee_items=(), request=None, **guide
) -> GuideVersion:
    """A new draft of the item's guide. Published versions are never edited: editing is drafting."""
    _require_provincial_admin(actor)
    missing = [
        f for f in ("legal_basis", "conditions", "process", "statutory_days") if not guide.get(f)
    ]
    if missing:
        raise ValidationError({f: [_("This guide element is required.")] for f in missing})
    for fee in fee_items:
        check_fee(fee)
    with transaction.atomic():
        number = (
            item.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        version = GuideVersion.objects.create(
            item=item, number=number, **{k: guide[k] for k in GUIDE_FIELDS if k in guide}
        )
        GuideMaterial.objects.bulk_create(GuideMaterial(version=version, **m) for m in materials)
        GuideFee.objects.bulk_create(GuideFee(version=version, **fee) for fee in fee_items)
        record_audit(
            actor=actor,
            action="catalog.draft_version",
            target=f"{item.code} v{number}",
            request=request,
        )
    return version


def publish_version(version: GuideVersion, *, actor, valid_from=None, request=None) -> GuideVersion:
    """Publish a draft from `valid_from` (default now). The version in force until then ends at that
    moment: validity periods never overlap, and applications filed under it keep pointing to it."""
    _require_provincial_admin(actor)
    valid_from = valid_from or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"catalog-publish:{version.item_id}"]
            )
        version = GuideVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != GuideVersion.Status.DRAFT:
            raise ValidationError(
                _("Only a draft can be published; published versions never change.")
            )
        published = GuideVersion.objects.filter(
            item_id=version.item_id, status=GuideVersion.Status.PUBLISHED
        )
        if published.filter(valid_from__gte=valid_from).exists():
            raise ValidationError(_("A published version already starts at or after that date."))
        published.filter(valid_to__isnull=True).update(valid_to=valid_from)
        version.status, version.valid_from, version.published_at = (
            GuideVersion.Status.PUBLISHED,
            valid_from,
            timezone.now(),
        )
        version.save(update_fields=["status", "valid_from", "published_at"])
        record_audit(
            actor=actor,
            action="catalog.publish_version",
            target=f"{version.item.code} v{version.number}",
            data={"valid_from": valid_from.isoformat()},
            request=request,
        )
    return version


def _check_form_schema(schema: dict) -> None:
    if not schema:
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise ValidationError(
            {
                "form_schema": [
                    _("The form is not a valid JSON Schema: %(error)s") % {"error": error.message}
                ]
            }
        ) from None


def implement_item(
    *,
    actor,
    tenant,
    department,
    item: BasicItem,
    promised_days: int,
    place: str,
    hours: str,
    enquiry_phone: str,
    complaint_phone: str,
    online_depth: int,
    material_ids: list[int],
    form_schema: dict | None = None,
    form_sections: dict | None = None,
    window: str = "",
    co_implementers: str = "",
    request=None,
) -> Implementation:
    """Add a basic item to a unit's implementation list (as a draft), following the item's
    current guide: the promised time limit can't exceed the statutory one, and only materials
    the guide lists can be asked for."""
    if not has_role(actor, tenant, Role.TENANT_ADMIN):
        raise PermissionDenied(_("You do not administer this unit."))
    version = current_version(item)
    if version is None:
        raise ValidationError(_("%(item)s has no published guide yet.") % {"item": item.name})
    errors: dict[str, list[str]] = {}
    level = LEVEL_OF_TENANT[tenant.level]
    if (
        item.exercising_levels
        and level not in item.exercising_levels
        and 7 not in item.exercising_levels
    ):
        errors["item"] = [_("This item is not exercised at this unit's level.")]
    if not isinstance(promised_days, int) or promised_days < 0:
        errors["promised_days"] = [
            _("The promised time limit is a number of working days (0 for a same-day item).")
        ]
    elif promised_days > version.statutory_days:
        errors["promised_days"] = [
            _(
                "The promised time limit (%(promised)d working days) can't be longer than the statutory one (%(statutory)d)."
            )
            % {"promised": promised_days, "statutory": version.statutory_days}
        ]
    if online_depth > version.max_online_depth:
        errors["online_depth"] = [_("The guide does not allow this online depth.")]
    allowed = {m.id: m for m in version.materials.all()}
    outside = [mid for mid in material_ids if mid not in allowed]
    if outside:
        errors["materials"] = [
            _("Only materials listed in the guide may be asked for; not: %(ids)s")
            % {"ids": ", ".join(map(str, outside))}
        ]
    for field, value in (
        ("place", place),
        ("hours", hours),
        ("enquiry_phone", enquiry_phone),
        ("complaint_phone", complaint_phone),
    ):
        if not value.strip():
            errors[field] = [_("This guide element is required.")]
    try:
        _check_form_schema(form_schema or {})
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    _require_own_department(department, tenant)
    code = implementation_code(department.credit_code, level, item.code)
    with transaction.atomic():
        _lock(f"catalog-implementation:{code}")
        for live in Implementation.objects.filter(code=code).exclude(
            status=Implementation.Status.WITHDRAWN
        ):
            if live.tenant_id != tenant.id:
                # Only a department registered before the register existed can get here.
                raise ValidationError(
                    {"department": [_("Another unit's item already has this implementation code.")]}
                )
            if live.status != Implementation.Status.DRAFT:
                raise ValidationError(
                    _("This unit already implements this item; withdraw it first.")
                )
            # Implementing again replaces the unit's own draft: that is how a draft is edited.
            _delete_draft(live, actor=actor, tenant=tenant, request=request, replaced=True)
        implementation = Implementation.objects.create(
            tenant=tenant,
            item=item,
            version=version,
            code=code,
            department_id=department.id,
            department_name=department.name,
            department_credit_code=department.credit_code,
            exercising_level=level,
            promised_days=promised_days,
            place=place,
            hours=hours,
            enquiry_phone=enquiry_phone,
            complaint_phone=complaint_phone,
            window=window,
            co_implementers=co_implementers,
            online_depth=online_depth,
            fully_online=version.in_person_visits == 0 and online_depth >= 6,
            form_schema=form_schema or {},
        )
        ImplementationMaterial.objects.bulk_create(
            ImplementationMaterial(
                implementation=implementation,
                guide_material=allowed[mid],
                as_form_section=(form_sections or {}).get(mid, ""),
            )
            for mid in material_ids
        )
        record_audit(
            actor=actor, action="catalog.implement", target=code, tenant=tenant, request=request
        )
    return implementation


def _lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _require_own(implementation: Implementation, *, actor, tenant) -> None:
    """Every write to an implementation list is its own unit's, by one of its administrators."""
    if implementation.tenant_id != tenant.id or not has_role(actor, tenant, Role.TENANT_ADMIN):
        raise PermissionDenied(_("You do not administer this unit."))


def _require_own_department(department, tenant) -> None:
    """The department must be this unit's, as the provincial register of credit codes says: a
    department is passed in from a tenant schema, and its credit code starts the implementation
    code that is unique across the province."""
    if not DepartmentRegistration.objects.filter(
        credit_code=department.credit_code, tenant_id=tenant.id, department_id=department.pk
    ).exists():
        raise ValidationError(
            {
                "department": [
                    _(
                        "This department's credit code is not registered to this unit; correct the department's credit code first."
                    )
                ]
            }
        )


def _delete_draft(implementation, *, actor, tenant, request, replaced=False) -> None:
    deleted, _rows = Implementation.objects.filter(
        pk=implementation.pk, tenant_id=tenant.id, status=Implementation.Status.DRAFT
    ).delete()
    if not deleted:
        raise ValidationError(_("Only a draft can be deleted."))
    record_audit(
        actor=actor,
        action="catalog.delete_draft",
        target=implementation.code,
        tenant=tenant,
        data={"item": implementation.item_id, "replaced": replaced},
        request=request,
    )


def publish_implementation(
    implementation: Implementation, *, actor, tenant, request=None
) -> Implementation:
    """Publish a unit's implemented item (the guide page and routing use it from now on). A unit
    publishes one implementation of an item at a time."""
    _require_own(implementation, actor=actor, tenant=tenant)
    with transaction.atomic():
        _lock(f"catalog-publish:{tenant.id}:{implementation.item_id}")
        other = (
            Implementation.objects.filter(
                tenant_id=tenant.id,
                item_id=implementation.item_id,
                status=Implementation.Status.PUBLISHED,
            )
            .exclude(pk=implementation.pk)
            .first()
        )
        if other is not None:
            raise ValidationError(
                _("This unit already publishes this item (%(code)s); withdraw that one first.")
                % {"code": other.code}
            )
        try:
            with transaction.atomic():
                updated = Implementation.objects.filter(
                    pk=implementation.pk, tenant_id=tenant.id, status=Implementation.Status.DRAFT
                ).update(status=Implementation.Status.PUBLISHED, published_at=timezone.now())
        except IntegrityError:
            raise ValidationError(
                _("This unit already publishes this item; withdraw that one first.")
            ) from None
        if not updated:
            raise ValidationError(_("Only a draft can be published."))
        record_audit(
            actor=actor,
            action="catalog.publish_implementation",
            target=implementation.code,
            tenant=tenant,
            request=request,
        )
    implementation.refresh_from_db()
    return implementation


def withdraw_implementation(
    implementation: Implementation, *, actor, tenant, request=None
) -> Implementation:
    """Withdraw a published item from the unit's list (撤回): its guide page and routing stop
    using it; the row stays for the cases filed under it."""
    _require_own(implementation, actor=actor, tenant=tenant)
    with transaction.atomic():
        updated = Implementation.objects.filter(
            pk=implementation.pk, tenant_id=tenant.id, status=Implementation.Status.PUBLISHED
        ).update(status=Implementation.Status.WITHDRAWN)
        if not updated:
            raise ValidationError(_("Only a published item can be withdrawn."))
        record_audit(
            actor=actor,
            action="catalog.withdraw_implementation",
            target=implementation.code,
            tenant=tenant,
            request=request,
        )
    implementation.refresh_from_db()
    return implementation


def delete_draft(implementation: Implementation, *, actor, tenant, request=None) -> None:
    """Delete a draft of the unit's list; published items are withdrawn instead."""
    _require_own(implementation, actor=actor, tenant=tenant)
    with transaction.atomic():
        _delete_draft(implementation, actor=actor, tenant=tenant, request=request)


# --- parallel approval (并联审批) and bundles (一件事一次办) ----------------------------------------

MAX_PARALLEL_DEPARTMENTS = 20
MAX_BUNDLE_ITEMS = 20


def _related_units(tenant) -> set[str]:
    """The units whose departments may review this unit's cases in parallel: itself, the units
    above it and those below it (a county with its city, a county with its townships)."""
    from shared_apps.accounts.authz import ancestor_codes

    return {tenant.code, *ancestor_codes(tenant.code)}


def set_parallel_review(
    implementation: Implementation, *, actor, tenant, rule: str, departments: list, request=None
) -> ParallelReview | None:
    """并联审批: after acceptance, each of `departments` ({"tenant", "department_id",
    "department_name", "days"}) reviews the case at once, on its own clock of `days` working
    days; `rule` says whether the first refusal ends the case. The implementing department leads
    (牵头部门) and decides. No departments: the item is reviewed by its own department only. By
    the unit's administrator; a department of a unit above or below must be registered there."""
    from shared_apps.accounts.authz import ancestor_codes
    from tenant_apps.cases.validation import clean_text

    _require_own(implementation, actor=actor, tenant=tenant)
    if not isinstance(departments, list) or len(departments) > MAX_PARALLEL_DEPARTMENTS:
        raise ValidationError(
            {
                "departments": [
                    _("Name at most %(n)d departments.") % {"n": MAX_PARALLEL_DEPARTMENTS}
                ]
            }
        )
    if departments and rule not in ParallelRule.values:
        raise ValidationError({"rule": [_("Choose how refusals are handled.")]})
    rows, seen = [], set()
    for index, entry in enumerate(departments):
        unit, department_id, days = (
            entry.get("tenant"),
            entry.get("department_id"),
            entry.get("days"),
        )
        field = f"departments.{index}"
        if unit is None or not (
            unit.pk == tenant.pk
            or unit.code in ancestor_codes(tenant.code)
            or tenant.code in ancestor_codes(unit.code)
        ):
            raise ValidationError(
                {field: [_("Only this unit and the units above or below it take part.")]}
            )
        if (
            not isinstance(department_id, int)
            or not DepartmentRegistration.objects.filter(
                tenant_id=unit.pk, department_id=department_id
            ).exists()
        ):
            raise ValidationError({field: [_("This unit has no such department.")]})
        if not isinstance(days, int) or not 0 < days <= implementation.version.statutory_days:
            raise ValidationError(
                {field: [_("The time limit is between 1 working day and the statutory limit.")]}
            )
        if (unit.pk, department_id) in seen:
            raise ValidationError({field: [_("This department is named twice.")]})
        seen.add((unit.pk, department_id))
        name = clean_text(entry.get("department_name", ""), field, required=True, max_length=100)
        rows.append(
            ParallelDepartment(
                tenant=unit, department_id=department_id, department_name=name, days=days
            )
        )
    with transaction.atomic():
        ParallelReview.objects.filter(implementation=implementation).delete()
        review = None
        if rows:
            review = ParallelReview.objects.create(implementation=implementation, rule=rule)
            for row in rows:
                row.review = review
            ParallelDepartment.objects.bulk_create(rows)
        record_audit(
            actor=actor,
            action="catalog.set_parallel_review",
            target=implementation.code,
            tenant=tenant,
            data={
                "rule": rule if rows else "",
                "departments": [[r.tenant.code, r.department_id, r.days] for r in rows],
            },
            request=request,
        )
    return review


def save_bundle(*, actor, code: str, name: str, items: list, tenant=None, request=None) -> Bundle:
    """一件事一次办: define (or change) a bundle of items applied for once with one form. A unit's
    bundle by its administrator; a province-wide one (no unit) by a provincial administrator."""
    from tenant_apps.cases.validation import clean_text

    if tenant is None:
        _require_provincial_admin(actor)
    elif not has_role(actor, tenant, Role.TENANT_ADMIN):
        raise PermissionDenied(_("You do not administer this unit."))
    code = clean_text(code, "code", required=True, max_length=40)
    name = clean_text(name, "name", required=True, max_length=200)
    if not isinstance(items, list) or not 2 <= len(items) <= MAX_BUNDLE_ITEMS:
        raise ValidationError(
            {"items": [_("A bundle has between 2 and %(n)d items.") % {"n": MAX_BUNDLE_ITEMS}]}
        )
    if len({item.pk for item in items}) != len(items):
        raise ValidationError({"items": [_("An item is named twice.")]})
    with transaction.atomic():
        bundle = Bundle.objects.select_for_update().filter(code=code).first()
        if bundle is not None and bundle.tenant_id != getattr(tenant, "pk", None):
            raise PermissionDenied(_("This bundle code belongs to another unit."))
        if bundle is None:
            bundle = Bundle(code=code)
        bundle.name, bundle.tenant = name, tenant
        bundle.save()
        bundle.items.set(items)
        record_audit(
            actor=actor,
            action="catalog.save_bundle",
            target=code,
            tenant=tenant,
            data={"name": name, "items": sorted(item.code for item in items)},
            request=request,
        )
    return bundle
