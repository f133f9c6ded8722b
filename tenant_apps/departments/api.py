from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role
from tenant_apps.departments.actions import create_department
from tenant_apps.departments.models import Department

router = Router(tags=["departments"])


class DepartmentOut(Schema):
    id: int
    name: str
    credit_code: str
    phone: str
    address: str
    is_active: bool


class DepartmentIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    credit_code: str = Field(max_length=18)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=200)


@router.get("/departments", response=page_of(DepartmentOut), summary="This unit's departments")
def list_departments(request, paging: Query[PageIn]):
    return paged(Department.objects.filter(is_active=True).order_by("id"), paging)


@router.get("/departments/{department_id}", response=DepartmentOut, summary="One department")
def get_department(request, department_id: int = Path(ge=1, le=2**63 - 1)):
    return get_object_or_404(Department, pk=department_id)


@router.post(
    "/departments",
    response={201: DepartmentOut},
    auth=staff_auth("departments:write", Role.TENANT_ADMIN),
    summary="Add a department",
)
def add_department(request, payload: DepartmentIn):
    actor = (
        request.user
        if request.user.is_authenticated
        else f"client:{request.api_token.client.client_id}"
    )
    # A ValidationError becomes a 422 API error (govplatform.errors).
    department = create_department(actor=actor, request=request, **payload.dict())
    return Status(201, department)
