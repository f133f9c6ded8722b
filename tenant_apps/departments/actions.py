from django.db import connection, transaction

from shared_apps.audit.actions import record_audit
from tenant_apps.departments.models import Department


def create_department(
    *, actor, name: str, credit_code: str, phone: str = "", address: str = "", request=None
) -> Department:
    """Add a department to the current tenant. Raises ValidationError on bad input."""
    department = Department(
        name=name.strip(), credit_code=credit_code.strip().upper(), phone=phone, address=address
    )
    department.full_clean()
    with transaction.atomic():
        department.save()
        record_audit(
            actor=actor,
            action="departments.create",
            target=f"{department.pk} {department.name}",
            tenant=connection.tenant,
            data={"credit_code": department.credit_code},
            request=request,
        )
    return department


def update_department(department: Department, *, actor, request=None, **changes) -> Department:
    """Change a department's details. Raises ValidationError on bad input."""
    before = {field: getattr(department, field) for field in changes}
    for field, value in changes.items():
        setattr(department, field, value)
    department.full_clean()
    with transaction.atomic():
        department.save(update_fields=list(changes))
        record_audit(
            actor=actor,
            action="departments.update",
            target=f"{department.pk} {department.name}",
            tenant=connection.tenant,
            data={"before": before, "after": changes},
            request=request,
        )
    return department
