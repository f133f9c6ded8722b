from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

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
    name: str
    credit_code: str
    phone: str = ""
    address: str = ""


@router.get("/departments", response=list[DepartmentOut], summary="This unit's departments")
def list_departments(request):
    return Department.objects.filter(is_active=True)


@router.get("/departments/{department_id}", response=DepartmentOut, summary="One department")
def get_department(request, department_id: int):
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
    try:
        department = create_department(actor=actor, request=request, **payload.dict())
    except ValidationError as error:
        raise HttpError(
            422, "; ".join(m for msgs in error.message_dict.values() for m in msgs)
        ) from None
    return Status(201, department)
