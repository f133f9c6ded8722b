"""Connections that each serve a fixed group of tenants, so their PostgreSQL caches stay warm.

A backend plans a query against a tenant schema it has not seen by reading that schema's catalog
entries, and keeps them until it disconnects (TENANT_SCHEMA_CACHE_KB each, measured by
`python -m bench.memory`). With one connection per thread wandering over every unit, requests
spread over the province keep meeting cold schemas, and the connection must be recycled every
TENANT_SCHEMAS_PER_CONNECTION schemas to bound its memory.

Instead each thread keeps up to TENANT_CONNECTION_GROUPS connections and sends every tenant to
the same one (a stable hash of its schema name): each backend then sees at most its share of the
units, stays under the per-connection bound and keeps its caches. The number of groups is the
smallest that gives every group no more than TENANT_SCHEMAS_PER_CONNECTION units, capped by the
setting, so `workers × threads × groups` bounds the backends a deployment opens.
"""

import math
import threading
import time
import zlib

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_local = threading.local()
_counted = {"groups": 0, "at": -math.inf}


def group_count(active_tenants: int) -> int:
    needed = math.ceil(active_tenants / max(1, settings.TENANT_SCHEMAS_PER_CONNECTION))
    return max(1, min(settings.TENANT_CONNECTION_GROUPS, needed))


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


def use_connection_for(schema_name: str) -> None:
    """Make this thread's default connection the one of the schema's group (before any query of
    the request or job). Inside a transaction the current connection is kept: a swap would leave
    the transaction behind (tests run inside one)."""
    current = connections[DEFAULT_DB_ALIAS]
    if current.in_atomic_block:
        return
    groups = current_group_count()
    if groups <= 1:
        return
    pool = getattr(_local, "pool", None)
    if pool is None:
        # The connection this thread already has becomes its group's member.
        pool = _local.pool = {}
    owner = getattr(current, "connection_group", None)
    if owner is None:
        owner = current.connection_group = group_of(schema_name, groups)
    pool.setdefault(owner, current)
    wanted = group_of(schema_name, groups)
    if wanted == owner:
        return
    target = pool.get(wanted)
    if target is None:
        target = pool[wanted] = connections.create_connection(DEFAULT_DB_ALIAS)
        target.connection_group = wanted
    else:
        # Idle since its last request: apply CONN_MAX_AGE, the health check and the schema bound,
        # as Django does for the current connection when a request starts.
        target.close_if_unusable_or_obsolete()
    connections[DEFAULT_DB_ALIAS] = target
