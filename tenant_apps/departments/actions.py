from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shared_apps.audit.actions import record_audit
from shared_apps.catalog.models import DepartmentRegistration, Implementation
from tenant_apps.departments.models import Department
from tenant_apps.departments.queries import check_credit_code_free, current_tenant


def _register(department: Department, tenant) -> None:
    """Write the department's credit code into the provincial register, in the caller's
    transaction; a unit racing for the same code loses on the unique index."""
    check_credit_code_free(department.credit_code, tenant=tenant, department_id=department.pk)
    try:
        with transaction.atomic():
            DepartmentRegistration.objects.update_or_create(
                tenant=tenant,
                department_id=department.pk,
                defaults={"credit_code": department.credit_code},
            )
    except IntegrityError:
        check_credit_code_free(department.credit_code, tenant=tenant, department_id=department.pk)
        raise


def _clean(department: Department) -> None:
    """The model's checks, and no NUL characters (PostgreSQL text can't hold them)."""
    errors = {}
    for field in ("name", "credit_code", "phone", "address"):
        try:
            ProhibitNullCharactersValidator()(getattr(department, field))
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)
    department.full_clean()


def create_department(
    *, actor, name: str, credit_code: str, phone: str = "", address: str = "", request=None
) -> Department:
    """Add a department to the current tenant. Raises ValidationError on bad input, or when the
    credit code belongs to another unit's department."""
    tenant = current_tenant()
    department = Department(
        name=name.strip(), credit_code=credit_code.strip().upper(), phone=phone, address=address
    )
    _clean(department)
    with transaction.atomic():
        department.save()
        _register(department, tenant)
        record_audit(
            actor=actor,
            action="departments.create",
            target=f"{department.pk} {department.name}",
            tenant=tenant,
            data={"credit_code": department.credit_code},
            request=request,
        )
    return department


def update_department(department: Department, *, actor, request=None, **changes) -> Department:
    """Change a department's details. Raises ValidationError on bad input; a credit code changes
    only while no item is implemented under the old one (its implementation codes carry it)."""
    tenant = current_tenant()
    if "credit_code" in changes:
        changes["credit_code"] = str(changes["credit_code"]).strip().upper()
    before = {field: getattr(department, field) for field in changes}
    for field, value in changes.items():
        setattr(department, field, value)
    _clean(department)
    new_code = before.get("credit_code", department.credit_code) != department.credit_code
    with transaction.atomic():
        if (
            new_code
            and Implementation.objects.filter(tenant=tenant, department_id=department.pk)
            .exclude(status=Implementation.Status.WITHDRAWN)
            .exists()
        ):
            raise ValidationError(
                {
                    "credit_code": [
                        _(
                            "Items are implemented under this department's credit code; withdraw them before changing it."
                        )
                    ]
                }
            )
        department.save(update_fields=list(changes))
        if new_code:
            _register(department, tenant)
        record_audit(
            actor=actor,
            action="departments.update",
            target=f"{department.pk} {department.name}",
            tenant=tenant,
            data={"before": before, "after": changes},
            request=request,
        )
    return department
