"""The search path of a tenant switch travels with the next SELECT (tenants/postgresql/base.py):
one round trip, and never a connection believed to be on a schema it is not on."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tenant_apps.departments.models import Department


def _server_search_path() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def test_a_select_carries_the_switch_in_one_statement(tenant):
    connection.set_tenant(tenant)
    with CaptureQueriesContext(connection) as queries:
        list(Department.objects.all())
    [statement] = [q["sql"] for q in queries.captured_queries]
    assert statement.startswith(f'SET search_path = "{tenant.schema_name}","public"; SELECT')
    assert connection.search_path_set_schemas == [tenant.schema_name, "public"]
    assert _server_search_path() == f"{tenant.schema_name}, public"


def test_rows_come_from_the_select_not_the_set(tenant):
    connection.set_tenant(tenant)
    Department.objects.create(name="民政局", credit_code="11410102MB0000012X")
    connection.set_schema_to_public()
    connection.set_tenant(tenant)
    assert list(Department.objects.values_list("name", flat=True)) == ["民政局"]


def test_a_cursor_that_ran_nothing_leaves_the_path_unset(tenant, other_tenant):
    connection.set_tenant(tenant)
    _server_search_path()
    connection.set_tenant(other_tenant)
    connection.cursor().close()  # opened, never used: the SET was never sent
    assert connection.search_path_set_schemas is None
    assert _server_search_path() == f"{other_tenant.schema_name}, public"


def test_a_failed_select_takes_the_switch_with_it(tenant, other_tenant):
    connection.set_tenant(tenant)
    _server_search_path()
    savepoint = transaction.savepoint()
    connection.set_tenant(other_tenant)
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM departments_department")
    # The statement failed as a whole: the SET in it did not happen.
    assert connection.search_path_set_schemas is None
    transaction.savepoint_rollback(savepoint)
    assert _server_search_path() == f"{other_tenant.schema_name}, public"


def test_other_statements_get_the_switch_first(tenant):
    connection.set_tenant(tenant)
    with CaptureQueriesContext(connection) as queries:
        Department.objects.create(name="人社局", credit_code="11410102MB00001317")
    statements = [q["sql"] for q in queries.captured_queries]
    assert statements[0] == f'SET search_path = "{tenant.schema_name}","public"'
    assert statements[1].startswith("INSERT")
    assert connection.search_path_set_schemas == [tenant.schema_name, "public"]
