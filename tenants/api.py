"""The portal API about administrative units (public reads, provincial administrators' intents)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import django_auth
from pydantic import Field

from govplatform.paging import PageIn, page_of, paged
from tenants import actions, places
from tenants.links import tenant_url
from tenants.models import Tenant

router = Router(tags=["tenants"])


class TenantOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None
    subdomain: str
    url: str
    status: str


class SuspendIn(Schema):
    reason: str = Field(max_length=200)


def _out(request, tenant: Tenant) -> dict:
    return {
        "code": tenant.code,
        "name": tenant.name,
        "level": tenant.level,
        "parent_code": tenant.parent.code if tenant.parent else None,
        "subdomain": tenant.subdomain,
        "url": tenant_url(tenant, "/", request),
        "status": tenant.status,
    }


@router.get("/tenants", response=page_of(TenantOut), summary="Administrative units, filtered")
def list_tenants(
    request,
    paging: Query[PageIn],
    level: str | None = Query(None, max_length=20),
    parent: str | None = Query(None, max_length=12),
    q: str | None = Query(None, max_length=50),
):
    units = Tenant.objects.exclude(status=Tenant.Status.RETIRED).select_related("parent")
    if level:
        units = units.filter(level=level)
    if parent:
        units = units.filter(parent__code=parent)
    if q:
        units = units.filter(name__contains=q)
    return paged(units, paging, lambda rows: [_out(request, t) for t in rows])


class PlaceOut(Schema):
    code: str
    name: str
    level: str
    status: str
    path: str = Field(description="the units from the province down, e.g. 河南省 › 郑州市 › 金水区")
    url: str


def _place_out(request, found: places.Place) -> dict:
    unit = found.unit
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "status": unit.status,
        "path": found.path,
        "url": tenant_url(unit, "/", request),
    }


@router.get("/places", response=page_of(PlaceOut), summary="Find places by name or code")
def find_places(
    request,
    paging: Query[PageIn],
    q: str = Query(
        max_length=places.MAX_PLACE_TEXT, description="金水区, 郑州市金水区, 林山寨, a code"
    ),
):
    """Every unit the text names (a name many units share, such as 城关镇, gives all of them, each
    with its path); else the units whose name contains it."""
    found = places.find_places(q)  # a ValidationError (NUL) is a 422
    return paged(found, paging, lambda rows: [_place_out(request, p) for p in rows])


@router.get(
    "/places/{code}/children", response=page_of(PlaceOut), summary="The units directly below a unit"
)
def place_children(request, paging: Query[PageIn], code: str = Path(max_length=12)):
    found = places.children(code)
    if found is None:
        raise HttpError(404, _("There is no unit with this division code."))
    return paged(found, paging, lambda rows: [_place_out(request, p) for p in rows])


@router.get("/tenants/{code}", response=TenantOut, summary="One administrative unit")
def get_tenant(request, code: str = Path(max_length=12)):
    tenant = get_object_or_404(Tenant.objects.select_related("parent"), code=code)
    return _out(request, tenant)


@router.post(
    "/tenants/{code}/suspend",
    response=TenantOut,
    auth=django_auth,
    summary="Suspend a unit's online services",
)
def suspend(request, payload: SuspendIn, code: str = Path(max_length=12)):
    tenant = get_object_or_404(Tenant, code=code)
    try:
        tenant = actions.suspend_tenant(
            tenant, actor=request.user, reason=payload.reason, request=request
        )
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    except actions.ReasonRequired as error:
        raise HttpError(422, str(error)) from None
    except actions.TenantStateError as error:
        raise HttpError(409, str(error)) from None
    return _out(request, tenant)


@router.post(
    "/tenants/{code}/resume",
    response=TenantOut,
    auth=django_auth,
    summary="Resume a suspended unit",
)
def resume(request, code: str = Path(max_length=12)):
    tenant = get_object_or_404(Tenant, code=code)
    try:
        tenant = actions.resume_tenant(tenant, actor=request.user, request=request)
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    except actions.TenantStateError as error:
        raise HttpError(409, str(error)) from None
    return _out(request, tenant)
