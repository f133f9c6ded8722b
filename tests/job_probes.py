"""Actors that report what the worker saw, for tests/test_jobs.py. Loaded by the worker process
the tests start; each writes a JSON line to the file named in its arguments, and every message the
worker acknowledges is appended to the file PROBE_ACKS names (so a test knows when a batch is done,
whatever the broker)."""

import json
import os
import random
import time

import dramatiq
from django.db import connection, transaction
from dramatiq.middleware import Middleware

from govplatform.jobs import tenant_actor

QUEUE = os.environ.get("PROBE_QUEUE", "probes")


def _report(path: str, **facts) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        facts["search_path"] = cursor.fetchone()[0]
    facts["schema_name"] = connection.schema_name
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(facts, ensure_ascii=False) + "\n")


class AckLog(Middleware):
    def after_ack(self, broker, message):
        with open(os.environ["PROBE_ACKS"], "a", encoding="utf-8") as out:
            out.write(message.message_id + "\n")


if os.environ.get("PROBE_ACKS"):
    dramatiq.get_broker().add_middleware(AckLog())


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


@tenant_actor(queue_name=QUEUE, throws=(ValueError,), max_retries=3, min_backoff=100)
def probe_with_own_throws(path: str) -> None:
    _report(path, actor="probe_with_own_throws", tenant_code=connection.tenant.code)


@tenant_actor(queue_name=QUEUE, max_retries=100, min_backoff=100, max_backoff=500)
def probe_patiently(path: str) -> None:
    _report(path, actor="probe_patiently", tenant_code=connection.tenant.code)


@tenant_actor(queue_name=QUEUE, max_retries=0)
def add_department(name: str, before: float, after_commit: float, path: str = "") -> None:
    """A job with an effect that must happen once: a department (and its audit entry) per run.
    It sleeps `before` inside its transaction and `after_commit` between commit and the broker's
    acknowledgement, the window where a killed worker used to make a job run twice."""
    from stdnum.cn import uscc

    from tenant_apps.departments.actions import create_department

    if path:
        _report(path, actor="add_department", name=name)
    time.sleep(before)
    body = "11" + connection.tenant.code[:6] + f"{random.randrange(10**9):09d}"
    create_department(
        actor="system:job-probe", name=name, credit_code=body + uscc.calc_check_digit(body)
    )
    transaction.on_commit(lambda: time.sleep(after_commit))


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def probe_schema(path: str) -> None:
    _report(path, actor="probe_schema")
