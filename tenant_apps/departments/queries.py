"""Reads about departments (writes are in actions)."""

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from shared_apps.catalog.models import DepartmentRegistration


def check_credit_code_free(credit_code: str, *, tenant, department_id: int | None = None) -> None:
    """Refuse a credit code that a department of another unit (or another department) holds:
    implementation codes start with it and are province-wide (统一社会信用代码全省唯一)."""
    holder = (
        DepartmentRegistration.objects.filter(credit_code=credit_code)
        .select_related("tenant")
        .first()
    )
    if holder is not None and (holder.tenant_id, holder.department_id) != (
        tenant.id,
        department_id,
    ):
        raise ValidationError(
            {
                "credit_code": [
                    _(
                        "The credit code %(code)s is already registered to a department of %(unit)s; "
                        "each credit code belongs to one department in the province."
                    )
                    % {"code": credit_code, "unit": holder.tenant.name}
                ]
            }
        )


def current_tenant():
    """The unit whose schema the connection is in (schema_context() leaves only its schema name)."""
    from tenants.models import Tenant

    tenant = connection.tenant
    return (
        tenant if isinstance(tenant, Tenant) else Tenant.objects.get(schema_name=tenant.schema_name)
    )
