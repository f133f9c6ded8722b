"""The host map never keeps a view older than a change it was told about, and the listener that
tells it proves it is alive (issue 7, item 2)."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from tenants.hosts import host_map
from tests.helpers import host_of


def _raw_connection(**extra):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return psycopg.connect(**params, **extra)


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _in_thread(target):
    """Run target in a thread with its own database connection (as a server's thread would)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = target()
        except Exception as error:  # re-raised in the test below
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture
def restore_status(tenant):
    yield
    with _raw_connection(autocommit=True) as conn:
        conn.execute("UPDATE tenants_tenant SET status = 'active' WHERE code = %s", [tenant.code])
    host_map.invalidate()


def test_a_change_notified_while_the_map_loads_is_not_lost(tenant, restore_status):
    """The load reads the tenants, then waits (its domain query is blocked by a lock); meanwhile
    another process suspends the tenant and the NOTIFY arrives. The load must not be kept."""
    warm, _ = _in_thread(lambda: host_map.match(host_of(tenant)))  # starts the listener
    warm.join()
    time.sleep(1)  # the listener connects and clears the map once
    host_map.invalidate()

    with _raw_connection() as locker:
        locker.execute("LOCK TABLE tenants_domain IN ACCESS EXCLUSIVE MODE")
        loader, outcome = _in_thread(lambda: host_map.match(host_of(tenant)))
        with _raw_connection(autocommit=True) as watcher:
            _wait_for(
                lambda: watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%%tenants_domain%%' AND datname = current_database()"
                ).fetchone()[0],
                10,
                "the load to wait for the domain table",
            )
            watcher.execute(
                "UPDATE tenants_tenant SET status = 'suspended' WHERE code = %s", [tenant.code]
            )
        time.sleep(0.5)  # the NOTIFY reaches the listener (it wakes on the socket)
        locker.commit()
    loader.join(timeout=10)
    assert "error" not in outcome, outcome
    assert outcome["value"].tenant.status == "suspended", "the load kept the rows from before"
    assert host_map.match(host_of(tenant)).tenant.status == "suspended"


def test_listener_reports_its_heartbeat(db, tenant):
    host_map.match(host_of(tenant))
    _wait_for(host_map.listener_healthy, 10, "the listener to connect")
    state = host_map.listener_state()
    assert state["listening"] and state["state"] == "listening"
    assert state["reload_seconds"] == 300


def test_without_a_listener_the_map_is_reloaded_often(db, tenant, settings):
    host_map.match(host_of(tenant))
    _wait_for(host_map.listener_healthy, 10, "the listener to connect")
    host_map._loaded_at -= settings.TENANT_HOSTS_FALLBACK_RELOAD_SECONDS + 1
    assert not host_map._reload_due(), "a healthy listener keeps the long interval"
    host_map.stop_listener()  # as if its connection were lost
    try:
        state = host_map.listener_state()
        assert not state["listening"] and state["state"] == "down"
        assert state["reload_seconds"] == settings.TENANT_HOSTS_FALLBACK_RELOAD_SECONDS
        assert host_map._reload_due()
    finally:
        host_map.match(host_of(tenant))  # starts a listener again
