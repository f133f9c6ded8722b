"""Actors that report what the worker saw, for tests/test_jobs.py. Loaded by the worker process
the tests start; each writes a JSON line to the file named in its arguments."""

import json
import os

import dramatiq
from django.db import connection

from govplatform.jobs import tenant_actor

QUEUE = os.environ.get("PROBE_QUEUE", "probes")


def _report(path: str, **facts) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        facts["search_path"] = cursor.fetchone()[0]
    facts["schema_name"] = connection.schema_name
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(facts, ensure_ascii=False) + "\n")


@tenant_actor(queue_name=QUEUE, max_retries=0)
def probe_tenant(path: str) -> None:
    from tenant_apps.departments.models import Department

    _report(
        path,
        actor="probe_tenant",
        tenant_code=connection.tenant.code,
        departments=Department.objects.count(),
    )


@tenant_actor(queue_name=QUEUE, max_retries=0)
def fail_in_tenant(path: str) -> None:
    _report(path, actor="fail_in_tenant", tenant_code=connection.tenant.code)
    raise RuntimeError("the probe failed on purpose")


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def probe_schema(path: str) -> None:
    _report(path, actor="probe_schema")
