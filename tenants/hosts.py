"""Which tenant a request's Host header names, answered from memory.

The whole map (every tenant's subdomain and extra hostnames; a few thousand entries) is loaded with
one query and kept per process. A trigger on the tenant tables sends a PostgreSQL NOTIFY on every
change; a listener thread in each process clears the map when one arrives, and again after it
reconnects (it may have missed some). Changes made through tenants.actions also clear it at once in
the process that made them. As a safety net the map is reloaded every TENANT_HOSTS_RELOAD_SECONDS.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import connection
from django_tenants.postgresql_backend.base import FakeTenant

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "tenant_hosts_changed"


@dataclass(frozen=True)
class HostMatch:
    tenant: object  # a Tenant, or a FakeTenant for the public schema (the provincial portal)

    @property
    def is_portal(self) -> bool:
        return self.tenant.schema_name == "public"


PORTAL = HostMatch(FakeTenant(schema_name="public"))


class HostMap:
    def __init__(self):
        self._lock = threading.Lock()
        self._by_subdomain: dict | None = None
        self._by_hostname: dict = {}
        self._by_code: dict = {}
        self._loaded_at = 0.0
        self._listener_pid: int | None = None
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        self.loads = 0

    def invalidate(self) -> None:
        with self._lock:
            self._by_subdomain = None

    def _load(self) -> tuple[dict, dict]:
        from tenants.models import Domain, Tenant

        by_subdomain = {t.subdomain: t for t in Tenant.objects.select_related("parent")}
        by_id = {t.id: t for t in by_subdomain.values()}
        by_hostname = {
            d.domain.lower(): by_id[d.tenant_id]
            for d in Domain.objects.all()
            if d.tenant_id in by_id
        }
        by_code = {t.code: t for t in by_subdomain.values()}
        with self._lock:
            self._by_subdomain, self._by_hostname, self._by_code = (
                by_subdomain,
                by_hostname,
                by_code,
            )
            self._loaded_at = time.monotonic()
            self.loads += 1
        return by_subdomain, by_hostname

    def by_codes(self, codes: list[str]) -> dict:
        """Tenants by division code, from the same in-memory map (no query when warm)."""
        self._ensure_listener()
        by_code = self._by_code
        if (
            self._by_subdomain is None
            or time.monotonic() - self._loaded_at > settings.TENANT_HOSTS_RELOAD_SECONDS
        ):
            self._load()
            by_code = self._by_code
        return {code: by_code[code] for code in codes if code in by_code}

    def match(self, hostname: str) -> HostMatch | None:
        """The tenant (or the portal) a hostname (without port) names; None if it names nothing."""
        self._ensure_listener()
        # Local references: the listener thread may clear the map at any moment.
        by_subdomain, by_hostname = self._by_subdomain, self._by_hostname
        if (
            by_subdomain is None
            or time.monotonic() - self._loaded_at > settings.TENANT_HOSTS_RELOAD_SECONDS
        ):
            by_subdomain, by_hostname = self._load()
        hostname = hostname.lower().rstrip(".")
        base = settings.BASE_DOMAIN
        if hostname in (base, f"www.{base}"):
            return PORTAL
        tenant = None
        if hostname.endswith("." + base):
            tenant = by_subdomain.get(hostname[: -len(base) - 1])
        if tenant is None:
            tenant = by_hostname.get(hostname)
        return HostMatch(tenant) if tenant is not None else None

    def _ensure_listener(self) -> None:
        # One listener per process, started lazily (after any fork of a pre-loading server).
        if self._listener_pid == os.getpid():
            return
        with self._lock:
            if self._listener_pid == os.getpid():
                return
            self._listener_pid = os.getpid()
        self._stopping.clear()
        self._listener = threading.Thread(
            target=self._listen, name="tenant-hosts-listener", daemon=True
        )
        self._listener.start()

    def stop_listener(self) -> None:
        """Close the listening connection (tests do, before their database is dropped)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._listener, self._listener_pid = None, None

    def _listen(self) -> None:
        params = connection.get_connection_params()
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                params.pop("cursor_factory", None)
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.invalidate()  # changes made while we were not listening
                    backoff = 1.0
                    while not self._stopping.is_set():
                        for _notify in conn.notifies(timeout=1.0):
                            self.invalidate()
            except Exception as error:  # the database restarted, the network blipped: retry
                logger.warning("Tenant host listener lost its connection (%s); retrying", error)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)


host_map = HostMap()
