"""Connection groups (tenants/connection_groups.py): every unit is always served by the same
connection of a thread, each connection by the units of one group only; and the per-connection
schema bound is re-derived when the tenant schema changes."""

import json
import os
import subprocess
import sys
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tenants.connection_groups import group_count, group_of

# Runs in its own process against the (committed) test database: outside any transaction, as a
# server thread does. Serves every unit twice and reports which backend answered each.
_SERVER_THREAD = """
import json, os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
django.setup()
from django.conf import settings
from django.db import connection
from django.test import Client
from tenants.models import Tenant

client = Client()
served = []
units = list(Tenant.objects.filter(status="active").exclude(level="province").order_by("code"))
for _round in range(2):
    for unit in units:
        response = client.get("/api/v1/departments", HTTP_HOST=f"{unit.subdomain}.{settings.BASE_DOMAIN}")
        assert response.status_code == 200, response.status_code
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        served.append([unit.schema_name, pid, sorted(connection.schemas_entered)])
print(json.dumps(served))
"""


def _database_url() -> str:
    """The test database's URL (a unix socket folder is percent-encoded as the host)."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    return f"postgres://{quote(db['USER'] or '')}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def test_each_unit_keeps_its_connection_and_each_connection_its_group(db, settings):
    from tenants.models import Tenant

    per_connection = (Tenant.objects.count() + 1) // 2  # two groups, no connection past its bound
    settings.TENANT_SCHEMAS_PER_CONNECTION = per_connection
    settings.TENANT_CONNECTION_GROUPS = 2
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "600",
        "TENANT_SCHEMAS_PER_CONNECTION": str(per_connection),
        "TENANT_CONNECTION_GROUPS": "2",
    }
    out = subprocess.run(
        [sys.executable, "-c", _SERVER_THREAD],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    served = json.loads(out.stdout.strip().splitlines()[-1])

    groups = group_count(Tenant.objects.count())
    assert groups == 2
    pid_of: dict[str, set[int]] = {}
    schemas_of_pid: dict[int, set[str]] = {}
    for schema, pid, entered in served:
        pid_of.setdefault(schema, set()).add(pid)
        schemas_of_pid.setdefault(pid, set()).update(entered)
    assert all(len(pids) == 1 for pids in pid_of.values()), pid_of
    assert len(schemas_of_pid) == 2, schemas_of_pid
    for schemas in schemas_of_pid.values():
        assert len({group_of(s, groups) for s in schemas}) == 1, schemas
        assert len(schemas) <= per_connection


def test_one_group_when_every_unit_fits_one_connection(settings):
    settings.TENANT_SCHEMAS_PER_CONNECTION = 1800
    settings.TENANT_CONNECTION_GROUPS = 4
    assert group_count(1700) == 1
    assert group_count(2646) == 2
    assert group_count(100_000) == 4  # capped: past that, connections recycle
    settings.TENANT_CONNECTION_GROUPS = 1
    assert group_count(2646) == 1


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
