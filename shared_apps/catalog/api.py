"""Catalog API: the provincial catalog and routing (portal), each unit's list (tenant)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions, queries
from shared_apps.catalog.models import BasicItem, Implementation
from shared_apps.catalog.routing import route
from tenant_apps.departments.models import Department
from tenants.links import tenant_url

portal_router = Router(tags=["catalog"])
tenant_router = Router(tags=["services"])


class ItemOut(Schema):
    code: str
    name: str
    item_type: str
    exercising_levels: list[int]
    themes: list[str]


class RouteOut(Schema):
    implementation_code: str
    tenant_code: str
    tenant_name: str
    guide_url: str


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


class ImplementIn(Schema):
    item_code: str
    department_id: int
    promised_days: int
    place: str
    hours: str
    enquiry_phone: str
    complaint_phone: str
    online_depth: int
    material_ids: list[int] = []
    form_schema: dict = {}
    window: str = ""
    co_implementers: str = ""


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


@portal_router.get("/catalog/items", response=list[ItemOut], summary="Search the unified catalog")
def search_catalog(
    request,
    q: str = "",
    item_type: str = "",
    level: int | None = None,
    theme: str = "",
    fully_online: bool = False,
    department: str = "",
    limit: int = 20,
):
    return queries.catalog(
        q=q,
        item_type=item_type,
        level=level,
        theme=theme,
        fully_online=fully_online,
        department=department,
    )[: max(1, min(limit, 100))]


@portal_router.get("/catalog/items/{code}", response=ItemOut, summary="One basic item")
def get_item(request, code: str):
    return get_object_or_404(BasicItem, code=code)


@portal_router.get("/route", response=RouteOut, summary="The unit that handles an item for a place")
def route_item(request, item: str, place: str = "", id_number: str = ""):
    """`place` is a 6- or 12-digit division code; without it the ID number's issuing county is used."""
    try:
        found = route(item, place=place or None, id_number=id_number or None)
    except ValidationError as error:
        raise HttpError(422, " ".join(error.messages)) from None
    if found.implementation is None:
        raise HttpError(503 if found.suspended else 404, found.reason)
    s = found.implementation
    return {
        "implementation_code": s.code,
        "tenant_code": s.tenant.code,
        "tenant_name": s.tenant.name,
        "guide_url": tenant_url(s.tenant, f"/services/{s.code}", request),
    }


@tenant_router.get(
    "/services", response=list[ServiceOut], summary="This unit's implementation list"
)
def list_services(request, q: str = ""):
    rows = queries.tenant_services(request.tenant, q)
    return [
        _service(s)
        for s in Implementation.objects.filter(pk__in=[r.pk for r in rows])
        .select_related("item", "version")
        .prefetch_related("materials__guide_material")
    ]


@tenant_router.get("/services/{code}", response=ServiceOut, summary="One service guide")
def get_service(request, code: str):
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
    try:
        s = actions.implement_item(
            actor=request.user,
            tenant=request.tenant,
            department=department,
            item=item,
            request=request,
            **data,
        )
    except ValidationError as error:
        detail = (
            "; ".join(m for ms in error.message_dict.values() for m in ms)
            if hasattr(error, "error_dict")
            else " ".join(error.messages)
        )
        raise HttpError(422, detail) from None
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
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
def publish(request, code: str):
    return _service(_run(actions.publish_implementation, _own_service(request, code), request))


@tenant_router.post(
    "/services/{code}/withdraw",
    response=ServiceOut,
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Withdraw a published item of this unit's list",
)
def withdraw(request, code: str):
    return _service(_run(actions.withdraw_implementation, _own_service(request, code), request))


@tenant_router.delete(
    "/services/{code}",
    response={204: None},
    auth=staff_auth("catalog:write", Role.TENANT_ADMIN),
    summary="Delete a draft of this unit's list",
)
def delete_draft(request, code: str):
    _run(actions.delete_draft, _own_service(request, code), request)
    return Status(204, None)
