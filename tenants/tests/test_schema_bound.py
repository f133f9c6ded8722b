"""TENANT_SCHEMAS_PER_CONNECTION is derived from a measurement of the current tenant schema."""

from django.conf import settings
from django.db import connection


def test_the_schema_bound_was_derived_for_the_current_tenant_schema(tenant):
    """TENANT_SCHEMAS_PER_CONNECTION's default divides a memory budget by the private memory a
    backend keeps per tenant schema, which grows with the tenant tables. When they change,
    re-measure with `python -m bench.memory`, update the default and this list."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [tenant.schema_name],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
    assert tables == sorted(settings.TENANT_SCHEMA_CACHE_MEASURED_WITH), (
        "The tenant schema changed: re-run `python -m bench.memory` and re-derive "
        "TENANT_SCHEMAS_PER_CONNECTION (platform/settings.py)."
    )
