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

# Runs in its own process against the (committed) test database, outside any transaction, as a
# server does: 3 threads serve every unit 3 times between them; each request reports the backend
# that answered it and the schemas that backend's connection has entered.
_SERVER = """
import json, os, threading
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
django.setup()
from django.conf import settings
from django.core.signals import request_finished
from django.db import connection
from django.test import Client

seen = threading.local()

def note(**_kwargs):
    # Runs before connection_groups gives the connection back (connected before it).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        seen.pid = cursor.fetchone()[0]
    seen.entered = sorted(connection.schemas_entered)

request_finished.connect(note)
import tenants.connection_groups  # noqa: E402
from tenants.models import Tenant  # noqa: E402

units = list(Tenant.objects.filter(status="active").exclude(level="province").order_by("code"))
served, failures = [], []

def serve(offset):
    client = Client()
    for n, unit in enumerate(units * 3):
        if n % 3 != offset:
            continue
        response = client.get("/api/v1/departments", HTTP_HOST=f"{unit.subdomain}.{settings.BASE_DOMAIN}")
        if response.status_code != 200:
            failures.append(response.status_code)
        served.append([unit.schema_name, seen.pid, seen.entered])

threads = [threading.Thread(target=serve, args=(n,)) for n in range(3)]
for t in threads: t.start()
for t in threads: t.join()
assert not failures, failures
print(json.dumps(served))
"""


def _database_url() -> str:
    """The test database's URL (a unix socket folder is percent-encoded as the host)."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    return f"postgres://{quote(db['USER'] or '')}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def test_each_backend_serves_the_units_of_one_group_only(db, settings):
    from tenants.models import Tenant

    units = Tenant.objects.count()
    settings.TENANT_SCHEMAS_PER_CONNECTION = (units + 1) // 2
    settings.TENANT_CONNECTION_GROUPS = 2
    groups = group_count(units)
    assert groups == 2
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "600",
        "TENANT_SCHEMAS_PER_CONNECTION": str(settings.TENANT_SCHEMAS_PER_CONNECTION),
        "TENANT_CONNECTION_GROUPS": "2",
    }
    out = subprocess.run(
        [sys.executable, "-c", _SERVER],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    served = json.loads(out.stdout.strip().splitlines()[-1])

    schemas_of_backend: dict[int, set[str]] = {}
    for schema, pid, entered in served:
        assert schema in entered
        schemas_of_backend.setdefault(pid, set()).update(entered)
    # Three threads, two groups: a group has a second connection only while two threads serve it.
    assert 2 <= len(schemas_of_backend) <= 2 * 3, schemas_of_backend
    for schemas in schemas_of_backend.values():
        assert len({group_of(s, groups) for s in schemas}) == 1, schemas
        assert len(schemas) <= settings.TENANT_SCHEMAS_PER_CONNECTION


def test_connections_are_borrowed_only_outside_transactions(tenant):
    """Inside a transaction (every test is inside one) the request keeps its connection."""
    from django.db import connections

    from tenants.connection_groups import borrow_connection_for

    before = connections["default"]
    borrow_connection_for(tenant.schema_name)
    assert connections["default"] is before


def test_groups_grow_when_a_group_would_exceed_the_bound(settings):
    settings.TENANT_SCHEMAS_PER_CONNECTION = 1500
    settings.TENANT_CONNECTION_GROUPS = 8
    assert group_count(2646) == 8
    assert group_count(100_000) == 67  # no connection past 1,500 units
    settings.TENANT_CONNECTION_GROUPS = 1
    assert group_count(2646) == 1  # groups off: one connection per thread


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
