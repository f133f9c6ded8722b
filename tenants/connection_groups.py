"""Connections that each serve a fixed group of tenants, so their PostgreSQL caches stay warm.

A backend plans a query against a tenant schema it has not seen by reading that schema's catalog
entries, and keeps them until it disconnects (about 20 KB a schema today, measured by
`python -m bench.memory`). With Django's one connection per thread wandering over every unit,
requests spread over the province keep meeting cold schemas, every thread's connection warms up
every schema, and connections must be recycled every TENANT_SCHEMAS_PER_CONNECTION schemas to
bound their memory.

Instead each server process splits the units into groups (a stable hash of the schema name) and
keeps idle connections per group: a request for a unit borrows a connection of the unit's group
for its duration, whichever thread serves it, and gives it back when the response is finished.
Each backend then sees only its group's units, so it stays warm and under its bound. The number of
groups is TENANT_CONNECTION_GROUPS, or more if a group would otherwise exceed
TENANT_SCHEMAS_PER_CONNECTION units; a group holds more than one connection only while several
threads serve its units at once.
"""

import math
import threading
import time
import zlib

from django.conf import settings
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections

_lock = threading.Lock()
_idle: dict[int, list] = {}  # group → connections nobody is using
_local = threading.local()  # per thread: the borrowed connection and the thread's own one
_counted = {"groups": 0, "at": -math.inf}


def group_count(units: int) -> int:
    if settings.TENANT_CONNECTION_GROUPS <= 1:
        return 1
    needed = math.ceil(units / max(1, settings.TENANT_SCHEMAS_PER_CONNECTION))
    return max(settings.TENANT_CONNECTION_GROUPS, needed)


def current_group_count() -> int:
    """From the number of units, recounted as often as the host map is reloaded."""
    if settings.TENANT_CONNECTION_GROUPS <= 1:
        return 1
    if time.monotonic() - _counted["at"] > settings.TENANT_HOSTS_RELOAD_SECONDS:
        from tenants.models import Tenant

        _counted["groups"] = group_count(Tenant.objects.count())
        _counted["at"] = time.monotonic()
    return _counted["groups"]


def group_of(schema_name: str, groups: int) -> int:
    return zlib.crc32(schema_name.encode()) % groups


def borrow_connection_for(schema_name: str) -> None:
    """Make this thread's default connection one of the schema's group until the request ends.
    Inside a transaction the current connection is kept: a swap would leave the transaction
    behind (tests run inside one)."""
    current = connections[DEFAULT_DB_ALIAS]
    if current.in_atomic_block or getattr(_local, "borrowed", None) is not None:
        return
    groups = current_group_count()
    if groups <= 1:
        return
    group = group_of(schema_name, groups)
    with _lock:
        idle = _idle.setdefault(group, [])
        borrowed = idle.pop() if idle else None
    if borrowed is None:
        borrowed = connections.create_connection(DEFAULT_DB_ALIAS)
        borrowed.inc_thread_sharing()  # served by whichever thread borrows it
        borrowed.connection_group = group
    else:
        # Idle since its last request: apply CONN_MAX_AGE, the health check and the schema bound,
        # as Django does for a thread's connection when a request starts.
        borrowed.close_if_unusable_or_obsolete()
    _local.own, _local.borrowed = current, borrowed
    connections[DEFAULT_DB_ALIAS] = borrowed


def give_back(**_kwargs) -> None:
    """At the end of the request (after Django has closed connections that are obsolete)."""
    borrowed = getattr(_local, "borrowed", None)
    if borrowed is None:
        return
    connections[DEFAULT_DB_ALIAS] = _local.own
    _local.own = _local.borrowed = None
    if borrowed.in_atomic_block:  # a view left a transaction open: never lend it out again
        borrowed.close()
        return
    with _lock:
        _idle[borrowed.connection_group].append(borrowed)


# Connected after django.db's close_old_connections, so it runs after it.
request_finished.connect(give_back, dispatch_uid="tenants.connection_groups.give_back")
