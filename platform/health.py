"""`/healthz`: what a load balancer probes. Answered before the Host header is looked at (balancers
probe by address, over plain HTTP), always as JSON: 200 when the database and the job broker answer,
503 otherwise, never an error page. Failures are named by type only; the details (addresses, users)
go to the log, not to whoever probes."""

import logging
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

from govplatform.jobs import broker_kind, database_broker_url
from tenants.hosts import host_map

logger = logging.getLogger(__name__)
PATH = "/healthz"


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == PATH:
            return healthz(request)
        return self.get_response(request)


def _timed(name: str, check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:
        logger.warning("Health check of the %s failed: %s", name, error)
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker():
    url = settings.BROKER_URL
    kind = broker_kind(url)
    if kind == "redis":
        import redis

        redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
    elif kind == "rabbitmq":
        import pika

        params = pika.URLParameters(url)
        params.socket_timeout = params.blocked_connection_timeout = 2
        pika.BlockingConnection(params).close()
    else:
        import psycopg

        with psycopg.connect(url or database_broker_url(), connect_timeout=2) as conn:
            conn.execute("SELECT to_regclass('dramatiq.queue')").fetchone()


def _case_clocks() -> dict:
    """Running case clocks whose due times are unknown (a year the official calendar does not
    cover): counted per unit by the deadline job, read here in one query on `public`. Not a
    reason to take the server out of the balancer, but an alert: `ok` false and the status
    degraded until the calendar is updated."""
    from shared_apps.ledger.models import DeadlineWatch

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT coalesce(sum(clock_errors), 0), count(*) FILTER (WHERE clock_errors > 0)"
            f" FROM public.{DeadlineWatch._meta.db_table}"
        )
        cases, units = cursor.fetchone()
    return {"ok": cases == 0, "cases_with_clock_error": cases, "units": units}


def healthz(request):
    """Liveness and readiness: the database and the job broker, each with its latency, and whether
    this process hears tenant changes (if not it still works, reloading its host map more often)."""
    try:
        host_map.ensure_listener()
        report = {
            "database": {
                **_timed("database", _check_database),
                "embedded": settings.EMBEDDED_DATABASE,
            },
            "broker": {**_timed("broker", _check_broker), "kind": broker_kind(settings.BROKER_URL)},
            "tenant_hosts": host_map.listener_state(),
        }
        healthy = report["database"]["ok"] and report["broker"]["ok"]
        if report["database"]["ok"]:
            try:
                report["case_clocks"] = _case_clocks()
            except Exception as error:
                logger.warning("Health check of the case clocks failed: %s", error)
                report["case_clocks"] = {"ok": False, "error": type(error).__name__}
            if report["case_clocks"].get("cases_with_clock_error"):
                logger.error(
                    "Health: %d running cases in %d units have unknown due times (the official "
                    "calendar does not cover their year)",
                    report["case_clocks"]["cases_with_clock_error"],
                    report["case_clocks"]["units"],
                )
        listening = report["tenant_hosts"]["listening"]
        clocks_ok = report.get("case_clocks", {}).get("ok", True)
        status = "ok" if listening and clocks_ok else "degraded"
        response = JsonResponse(
            {"status": status if healthy else "unavailable", **report},
            status=200 if healthy else 503,
        )
    except Exception:
        logger.exception("Health check failed")
        response = JsonResponse({"status": "unavailable"}, status=503)
    add_never_cache_headers(response)
    # Answered before the security middleware: the one header that concerns a JSON body.
    response["X-Content-Type-Options"] = "nosniff"
    return response
