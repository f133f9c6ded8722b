from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from ninja.security import django_auth

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
    "/departments", response={201: DepartmentOut}, auth=django_auth, summary="Add a department"
)
def add_department(request, payload: DepartmentIn):
    # Until tenant roles exist only provincial administrators manage departments.
    if not request.user.is_superuser:
        raise HttpError(403, _("You may not manage this unit's departments."))
    try:
        department = create_department(actor=request.user, request=request, **payload.dict())
    except ValidationError as error:
        raise HttpError(
            422, "; ".join(m for msgs in error.message_dict.values() for m in msgs)
        ) from None
    return Status(201, department)
