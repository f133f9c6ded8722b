"""The portal API about administrative units (public reads, provincial administrators' intents)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import django_auth
from pydantic import Field

from tenants import actions
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


@router.get("/tenants", response=list[TenantOut], summary="Administrative units, filtered")
def list_tenants(
    request,
    level: str | None = Query(None, max_length=20),
    parent: str | None = Query(None, max_length=12),
    q: str | None = Query(None, max_length=50),
    limit: int = Query(200, description="clamped to 1–1000"),
    # Bounded: PostgreSQL's OFFSET is a bigint (2,646 units in all).
    offset: int = Query(0, le=100_000, description="negative counts as 0"),
):
    units = Tenant.objects.exclude(status=Tenant.Status.RETIRED).select_related("parent")
    if level:
        units = units.filter(level=level)
    if parent:
        units = units.filter(parent__code=parent)
    if q:
        units = units.filter(name__contains=q)
    limit, offset = max(1, min(limit, 1000)), max(0, offset)
    return [_out(request, t) for t in units[offset : offset + limit]]


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
