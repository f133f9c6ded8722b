"""Which tenant a request's Host header names, answered from memory.

The whole map (every tenant's subdomain, extra hostnames and former subdomains; a few thousand
entries) is loaded with three queries and kept per process, so a request to a former subdomain is
redirected without a query. A trigger on the tenant tables sends a PostgreSQL NOTIFY on every
change; a listener thread in each process clears the map when one arrives, and again after it
reconnects (it may have missed some). Changes made through tenants.actions also clear it at once in
the process that made them.

Every clearing bumps a generation counter: a load that a notification overtook (it read the rows
before the change committed) is not kept, so a suspension is never papered over by a load that was
already under way. The listener proves it is alive with a heartbeat query every
TENANT_HOSTS_HEARTBEAT_SECONDS over a connection with TCP keepalives; while it is down, stuck or
still connecting, the map is reloaded every TENANT_HOSTS_FALLBACK_RELOAD_SECONDS instead of every
TENANT_HOSTS_RELOAD_SECONDS (the safety net when it is healthy), and a listener that stopped beating
is replaced by a new one.
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
# A load overtaken by a notification this many times in a row is used once, unkept.
LOAD_ATTEMPTS = 3
# libpq settings of the listening connection: a peer that vanished (half-open TCP) is noticed
# within about half a minute instead of the kernel's two hours.
LISTENER_CONNECTION = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


@dataclass(frozen=True)
class HostMatch:
    tenant: object  # a Tenant, or a FakeTenant for the public schema (the provincial portal)
    # The hostname is a former subdomain of the tenant (an alias): answer with a redirect.
    former: bool = False

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
        self._by_alias: dict = {}
        self._loaded_at = 0.0
        self._generation = 0
        self._listener_pid: int | None = None
        self._listener: threading.Thread | None = None
        self._listener_alive_at = 0.0  # the listener thread's last sign of life, even when retrying
        self._listening = False
        self._heartbeat_at = 0.0
        self._stopping = threading.Event()
        self.loads = 0

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._by_subdomain = None

    def _read(self) -> tuple[dict, dict, dict, dict]:
        from tenants.models import Domain, SubdomainAlias, Tenant

        by_subdomain = {t.subdomain: t for t in Tenant.objects.select_related("parent")}
        by_id = {t.id: t for t in by_subdomain.values()}
        by_hostname = {
            d.domain.lower(): by_id[d.tenant_id]
            for d in Domain.objects.all()
            if d.tenant_id in by_id
        }
        by_alias = {
            subdomain: by_id[tenant_id]
            for subdomain, tenant_id in SubdomainAlias.objects.values_list("subdomain", "tenant_id")
            if tenant_id in by_id
        }
        return by_subdomain, by_hostname, {t.code: t for t in by_subdomain.values()}, by_alias

    def _load(self) -> tuple[dict, dict, dict, dict]:
        for _attempt in range(LOAD_ATTEMPTS):
            with self._lock:
                generation = self._generation
            started = time.monotonic()
            maps = self._read()
            with self._lock:
                self.loads += 1
                if self._generation == generation:
                    self._by_subdomain, self._by_hostname, self._by_code, self._by_alias = maps
                    self._loaded_at = started
                    return maps
            # A change was notified while we read: our rows may predate it, read again.
        return maps

    def _reload_due(self) -> bool:
        interval = settings.TENANT_HOSTS_RELOAD_SECONDS
        if not self.listener_healthy():
            interval = min(interval, settings.TENANT_HOSTS_FALLBACK_RELOAD_SECONDS)
        return self._by_subdomain is None or time.monotonic() - self._loaded_at > interval

    def by_codes(self, codes: list[str]) -> dict:
        """Tenants by division code, from the same in-memory map (no query when warm)."""
        self.ensure_listener()
        by_code = self._by_code
        if self._reload_due():
            by_code = self._load()[2]
        return {code: by_code[code] for code in codes if code in by_code}

    def all_by_code(self) -> dict:
        """Every unit (retired ones too) by division code, from the same map; don't change it."""
        self.ensure_listener()
        by_code = self._by_code
        if self._by_subdomain is None or self._reload_due():
            by_code = self._load()[2]
        return by_code

    def match(self, hostname: str) -> HostMatch | None:
        """The tenant (or the portal) a hostname (without port) names; None if it names nothing."""
        self.ensure_listener()
        # Local references: the listener thread may clear the map at any moment.
        by_subdomain, by_hostname, by_alias = (
            self._by_subdomain,
            self._by_hostname,
            self._by_alias,
        )
        if by_subdomain is None or self._reload_due():
            by_subdomain, by_hostname, _by_code, by_alias = self._load()
        hostname = hostname.lower().rstrip(".")
        base = settings.BASE_DOMAIN
        if hostname in (base, f"www.{base}"):
            return PORTAL
        tenant = None
        if hostname.endswith("." + base):
            label = hostname[: -len(base) - 1]
            tenant = by_subdomain.get(label)
            if tenant is None and label in by_alias:
                return HostMatch(by_alias[label], former=True)
        if tenant is None:
            tenant = by_hostname.get(hostname)
        return HostMatch(tenant) if tenant is not None else None

    # The listener ----------------------------------------------------------------------------

    def _stale_after(self) -> float:
        # Three missed heartbeats (a beat can wait a second behind the notification poll).
        return 3 * settings.TENANT_HOSTS_HEARTBEAT_SECONDS + 1

    def listener_healthy(self) -> bool:
        return (
            self._listening
            and self._listener_pid == os.getpid()
            and time.monotonic() - self._heartbeat_at <= self._stale_after()
        )

    def listener_state(self) -> dict:
        """For /healthz: is this process hearing changes, and how often it reloads meanwhile."""
        healthy = self.listener_healthy()
        beat = time.monotonic() - self._heartbeat_at if self._heartbeat_at else None
        return {
            "listening": healthy,
            "state": "listening" if healthy else ("stalled" if self._listening else "down"),
            "heartbeat_age_s": round(beat, 1) if beat is not None else None,
            "reload_seconds": settings.TENANT_HOSTS_RELOAD_SECONDS
            if healthy
            else min(
                settings.TENANT_HOSTS_RELOAD_SECONDS, settings.TENANT_HOSTS_FALLBACK_RELOAD_SECONDS
            ),
        }

    def ensure_listener(self) -> None:
        # One listener per process, started lazily (after any fork of a pre-loading server), and
        # replaced when it has stopped beating (blocked on a connection that went silent).
        if self._listener_pid == os.getpid() and not self._listener_stuck():
            return
        with self._lock:
            if self._listener_pid == os.getpid() and not self._listener_stuck():
                return
            self._listener_pid = os.getpid()
            self._listening = False
            self._listener_alive_at = time.monotonic()
            self._stopping.clear()
            self._listener = threading.Thread(
                target=self._listen, name="tenant-hosts-listener", daemon=True
            )
            self._listener.start()

    def _listener_stuck(self) -> bool:
        # Beyond a connect timeout plus the longest retry back-off without a sign, it is blocked.
        return time.monotonic() - self._listener_alive_at > self._stale_after() + 35

    def stop_listener(self) -> None:
        """Close the listening connection (tests do, before their database is dropped)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._listener, self._listener_pid, self._listening = None, None, False

    def _current(self) -> bool:
        return not self._stopping.is_set() and self._listener is threading.current_thread()

    def _listen(self) -> None:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.update(LISTENER_CONNECTION)
        heartbeat = settings.TENANT_HOSTS_HEARTBEAT_SECONDS
        backoff = 1.0
        while self._current():
            self._listener_alive_at = time.monotonic()
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.invalidate()  # changes made while we were not listening
                    if self._current():
                        self._heartbeat_at, self._listening = time.monotonic(), True
                    backoff = 1.0
                    while self._current():
                        for _notify in conn.notifies(timeout=min(1.0, heartbeat)):
                            self.invalidate()
                        self._listener_alive_at = time.monotonic()
                        if time.monotonic() - self._heartbeat_at >= heartbeat:
                            conn.execute("SELECT 1")
                            if self._current():
                                self._heartbeat_at = time.monotonic()
            except Exception as error:  # the database restarted, the network blipped: retry
                logger.warning("Tenant host listener lost its connection (%s); retrying", error)
                if self._current():
                    self._listening = False
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)


host_map = HostMap()
