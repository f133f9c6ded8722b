"""Catalog API: the provincial catalog and routing (portal), each unit's list (tenant)."""

import json
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field, field_validator

from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions, queries
from shared_apps.catalog.models import BasicItem, Implementation, OnlineDepth, ParallelRule
from shared_apps.catalog.routing import route
from tenant_apps.departments.models import Department
from tenants.links import tenant_url
from tenants.places import remembered_place

portal_router = Router(tags=["catalog"])
tenant_router = Router(tags=["services"])


class ItemOut(Schema):
    code: str
    name: str
    item_type: str
    exercising_levels: list[int]
    themes: list[str]


class RouteChoiceOut(Schema):
    implementation_code: str
    tenant_code: str
    tenant_name: str
    path: str
    guide_url: str
    suspended: bool
    turn_to_code: str | None = Field(description="a suspended unit: the nearest active unit above")
    turn_to_name: str | None


class RoutePlaceOut(Schema):
    code: str
    name: str
    level: str
    path: str


class RouteOut(Schema):
    kind: Literal["found", "choose_unit", "choose_place"]
    detail: str = ""
    implementation_code: str | None = None
    tenant_code: str | None = None
    tenant_name: str | None = None
    guide_url: str | None = None
    by_remembered_place: bool = False
    choices: page_of(RouteChoiceOut) | None = None
    places: page_of(RoutePlaceOut) | None = None


class MaterialOut(Schema):
    id: int
    name: str
    form: str
    originals: int
    copies: int
    source: str
    necessity: str
    form_section: str


class ServiceOut(Schema):
    code: str
    item_code: str
    item_name: str
    guide_version: int
    department_name: str
    department_credit_code: str
    statutory_days: int
    promised_days: int
    place: str
    hours: str
    enquiry_phone: str
    complaint_phone: str
    online_depth: int
    fully_online: bool
    status: str
    materials: list[MaterialOut]
    form_schema: dict


# Bounds of the application form (a JSON Schema): generous for a real form, far below what would
# make validating or storing it expensive.
FORM_SCHEMA_MAX_BYTES = 64 * 1024
FORM_SCHEMA_MAX_DEPTH = 16
MAX_DB_ID = 2**63 - 1


def _depth(value, limit: int) -> int:
    """Nesting depth of JSON data, counted up to `limit + 1` only."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


class ImplementIn(Schema):
    """Lengths as the columns of the implementation list (shared_apps/catalog/models.py)."""

    item_code: str = Field(max_length=12)
    department_id: int = Field(ge=1, le=MAX_DB_ID)
    promised_days: int = Field(
        ge=0,
        le=3650,
        description="working days; 0: a same-day item (即办件), decided on acceptance",
    )
    place: str = Field(min_length=1, max_length=300)
    hours: str = Field(min_length=1, max_length=200)
    enquiry_phone: str = Field(min_length=1, max_length=40)
    complaint_phone: str = Field(min_length=1, max_length=40)
    online_depth: int = Field(ge=min(OnlineDepth.values), le=max(OnlineDepth.values))
    material_ids: list[int] = Field(
        default=[], max_length=200, json_schema_extra={"uniqueItems": True}
    )
    form_schema: dict = Field(
        default={},
        description=f"JSON Schema of the application form, at most {FORM_SCHEMA_MAX_BYTES} bytes "
        f"and {FORM_SCHEMA_MAX_DEPTH} levels deep",
    )
    window: str = Field(default="", max_length=100)
    co_implementers: str = Field(default="", max_length=300)

    @field_validator("material_ids")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(_("Each material may be listed only once."))
        return value

    @field_validator("form_schema")
    @classmethod
    def _bounded(cls, value: dict) -> dict:
        if _depth(value, FORM_SCHEMA_MAX_DEPTH) > FORM_SCHEMA_MAX_DEPTH:
            raise ValueError(_("The form is nested too deeply."))
        if len(json.dumps(value, ensure_ascii=False).encode()) > FORM_SCHEMA_MAX_BYTES:
            raise ValueError(_("The form is too large."))
        return value


def _service(s: Implementation) -> dict:
    return {
        "code": s.code,
        "item_code": s.item.code,
        "item_name": s.item.name,
        "guide_version": s.version.number,
        "department_name": s.department_name,
        "department_credit_code": s.department_credit_code,
        "statutory_days": s.version.statutory_days,
        "promised_days": s.promised_days,
        "place": s.place,
        "hours": s.hours,
        "enquiry_phone": s.enquiry_phone,
        "complaint_phone": s.complaint_phone,
        "online_depth": s.online_depth,
        "fully_online": s.fully_online,
        "status": s.status,
        "form_schema": s.form_schema,
        "materials": [
            {
                "id": m.guide_material.id,
                "name": m.guide_material.name,
                "form": m.guide_material.form,
                "originals": m.guide_material.originals,
                "copies": m.guide_material.copies,
                "source": m.guide_material.source,
                "necessity": m.guide_material.necessity,
                "form_section": m.as_form_section,
            }
            for m in s.materials.all()
        ],
    }


@portal_router.get(
    "/catalog/items", response=page_of(ItemOut), summary="Search the unified catalog"
)
def search_catalog(
    request,
    paging: Query[PageIn],
    # Bounded so that the longest query string (4-byte characters, percent-encoded) still fits
    # the request line a server accepts (gunicorn: 4,094 bytes).
    q: str = Query("", max_length=100),
    item_type: str = Query("", max_length=2),
    level: int | None = Query(None, ge=1, le=7),
    theme: str = Query("", max_length=20),
    fully_online: bool = False,
    department: str = Query("", max_length=50),
    sort: Literal[queries.SORTS] = Query(
        "relevance", description="relevance (by code without a query), name or code"
    ),
):
    items = queries.catalog(
        q=q,
        item_type=item_type,
        level=level,
        theme=theme,
        fully_online=fully_online,
        department=department,
        sort=sort,
    )
    # A search scores every match to order them: page and total in one statement.
    return paged(items, paging, ranked=bool(q.strip()))


@portal_router.get("/catalog/items/{code}", response=ItemOut, summary="One basic item")
def get_item(request, code: str = Path(max_length=12)):
    return get_object_or_404(BasicItem, code=code)


@portal_router.get("/route", response=RouteOut, summary="The unit that handles an item for a place")
def route_item(
    request,
    paging: Query[PageIn],
    item: str = Query(max_length=12),
    place: str = Query("", max_length=50),
    id_number: str = Query("", max_length=40),
):
    """`place` is a 6- or 12-digit division code or a name (金水区, 郑州市金水区, 林山寨); without
    it the ID number's issuing county is used, and without either the remembered place (cookie
    `gov_place`). `kind` says what the answer is: `found` (the unit, its guide page), `choose_unit`
    (the place is above the level that handles the item: the units below it that have it, in
    `choices`, a page at a time) or `choose_place` (the name fits several places: `places`)."""
    remembered = remembered_place(request)
    found = route(
        item,
        place=place or None,
        id_number=id_number or None,
        remembered=remembered.code if remembered else None,
    )
    if found.places:
        return {
            "kind": "choose_place",
            "detail": found.reason,
            "places": paged(found.places, paging, lambda rows: [_place(p) for p in rows]),
        }
    if found.choices:
        return {
            "kind": "choose_unit",
            "detail": found.reason,
            "choices": paged(
                found.choices, paging, lambda rows: [_choice(request, c) for c in rows]
            ),
        }
    if found.implementation is None:
        raise HttpError(503 if found.suspended else 404, found.reason)
    s = found.implementation
    return {
        "kind": "found",
        "implementation_code": s.code,
        "tenant_code": s.tenant.code,
        "tenant_name": s.tenant.name,
        "guide_url": tenant_url(s.tenant, f"/services/{s.code}", request),
        "by_remembered_place": found.by_remembered_place,
    }


def _place(p) -> dict:
    return {"code": p.code, "name": p.unit.name, "level": p.unit.level, "path": p.path}


def _choice(request, c) -> dict:
    return {
        "implementation_code": c.implementation.code,
        "tenant_code": c.unit.code,
        "tenant_name": c.unit.name,
        "path": c.path,
        "guide_url": tenant_url(c.unit, f"/services/{c.implementation.code}", request),
        "suspended": c.suspended,
        "turn_to_code": c.turn_to.code if c.turn_to else None,
        "turn_to_name": c.turn_to.name if c.turn_to else None,
    }


@tenant_router.get(
    "/services", response=page_of(ServiceOut), summary="This unit's implementation list"
)
def list_services(
    request,
    paging: Query[PageIn],
    q: str = Query("", max_length=100),
    sort: Literal[queries.SORTS] = Query(
        "relevance", description="relevance (by code without a query), name or code"
    ),
):
    items = queries.tenant_services(request.tenant, q, sort)
    return paged(
        items,
        paging,
        lambda rows: [
            _service(s)
            for s in queries.services_of(
                request.tenant,
                rows,
                related=("item", "version"),
                prefetch=("materials__guide_material",),
            )
        ],
    )


@tenant_router.get("/services/{code}", response=ServiceOut, summary="One service guide")
def get_service(request, code: str = Path(max_length=31)):
    s = queries.guide(code, request.tenant)
    if s is None:
        raise HttpError(404, _("This unit does not offer this service."))
    return _service(s)


@tenant_router.post(
    "/services",
    response={201: ServiceOut},
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Add an item to this unit's list (draft)",
)
def implement(request, payload: ImplementIn):
    item = get_object_or_404(BasicItem, code=payload.item_code)
    department = Department.objects.filter(pk=payload.department_id, is_active=True).first()
    if department is None:
        raise HttpError(422, _("This unit has no such department."))
    data = payload.dict(exclude={"item_code", "department_id"})
    # ValidationError (422) and PermissionDenied (403) become API errors in govplatform.errors.
    s = actions.implement_item(
        actor=request.user,
        tenant=request.tenant,
        department=department,
        item=item,
        request=request,
        **data,
    )
    return Status(201, _service(s))


def _own_service(request, code: str) -> Implementation:
    """An item of this unit's list (the request's host), never another unit's."""
    if len(code) != 31 or "\x00" in code:  # PostgreSQL text can't hold NUL
        raise HttpError(404, _("This unit does not offer this service."))
    s = (
        Implementation.objects.filter(code=code, tenant_id=request.tenant.id)
        .exclude(status=Implementation.Status.WITHDRAWN)
        .first()
    )
    if s is None:
        raise HttpError(404, _("This unit does not offer this service."))
    return s


def _run(action, s: Implementation, request):
    try:
        return action(s, actor=request.user, tenant=request.tenant, request=request)
    except ValidationError as error:
        raise HttpError(409, " ".join(error.messages)) from None
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None


@tenant_router.post(
    "/services/{code}/publish",
    response=ServiceOut,
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Publish an item of this unit's list",
)
def publish(request, code: str = Path(max_length=31)):
    return _service(_run(actions.publish_implementation, _own_service(request, code), request))


@tenant_router.post(
    "/services/{code}/withdraw",
    response=ServiceOut,
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Withdraw a published item of this unit's list",
)
def withdraw(request, code: str = Path(max_length=31)):
    return _service(_run(actions.withdraw_implementation, _own_service(request, code), request))


@tenant_router.delete(
    "/services/{code}",
    response={204: None},
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Delete a draft of this unit's list",
)
def delete_draft(request, code: str = Path(max_length=31)):
    _run(actions.delete_draft, _own_service(request, code), request)
    return Status(204, None)


# --- 并联审批 and 一件事一次办, set by the unit's administrator ------------------------------------


class ParallelDepartmentIn(Schema):
    unit_code: str = Field(
        min_length=12, max_length=12, description="this unit, or a unit above or below it"
    )
    department_id: int = Field(ge=1, le=2**63 - 1, description="the department's id in its unit")
    department_name: str = Field(min_length=1, max_length=100)
    days: int = Field(ge=1, le=400, description="working days for its opinion")


class ParallelReviewIn(Schema):
    rule: ParallelRule | Literal[""] = ""
    departments: list[ParallelDepartmentIn] = Field([], max_length=actions.MAX_PARALLEL_DEPARTMENTS)


class ParallelReviewOut(Schema):
    rule: str
    departments: list[ParallelDepartmentIn]


def _parallel_out(review) -> dict:
    if review is None:
        return {"rule": "", "departments": []}
    return {
        "rule": review.rule,
        "departments": [
            {
                "unit_code": d.tenant.code,
                "department_id": d.department_id,
                "department_name": d.department_name,
                "days": d.days,
            }
            for d in review.departments.select_related("tenant")
        ],
    }


@tenant_router.put(
    "/services/{code}/parallel-review",
    response=ParallelReviewOut,
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Set the departments reviewing this service in parallel (并联审批); none: off",
)
def set_parallel_review(request, payload: ParallelReviewIn, code: str = Path(max_length=31)):
    from tenants.models import Tenant

    s = _own_service(request, code)
    units = {
        t.code: t
        for t in Tenant.objects.filter(code__in=[d.unit_code for d in payload.departments])
    }
    departments = [
        {
            "tenant": units.get(d.unit_code),
            "department_id": d.department_id,
            "department_name": d.department_name,
            "days": d.days,
        }
        for d in payload.departments
    ]
    review = actions.set_parallel_review(
        s,
        actor=request.user,
        tenant=request.tenant,
        rule=payload.rule,
        departments=departments,
        request=request,
    )
    return _parallel_out(review)


class BundleDefinitionIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    item_codes: list[str] = Field(
        min_length=2, max_length=actions.MAX_BUNDLE_ITEMS, description="basic item codes"
    )

    @field_validator("item_codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        if any(len(code) != 12 or "\x00" in code for code in value):
            raise ValueError(_("A basic item code has 12 characters."))
        return value


class BundleDefinitionOut(Schema):
    code: str
    name: str
    item_codes: list[str]


@tenant_router.put(
    "/bundles/{code}",
    response=BundleDefinitionOut,
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Define or change one of this unit's bundles (一件事一次办)",
)
def save_bundle(request, payload: BundleDefinitionIn, code: str = Path(max_length=40)):
    if len(set(payload.item_codes)) != len(payload.item_codes):
        raise HttpError(422, _("An item is named twice."))
    items = list(BasicItem.objects.filter(code__in=payload.item_codes))
    if len(items) != len(payload.item_codes):
        raise HttpError(422, _("No basic item has one of these codes."))
    bundle = actions.save_bundle(
        actor=request.user,
        code=code,
        name=payload.name,
        items=items,
        tenant=request.tenant,
        request=request,
    )
    return {
        "code": bundle.code,
        "name": bundle.name,
        "item_codes": sorted(item.code for item in bundle.items.all()),
    }
