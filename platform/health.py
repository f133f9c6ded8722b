import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from govplatform.jobs import broker_kind, database_broker_url


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
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


@never_cache
def healthz(request):
    """Liveness and readiness: the database and the job broker, each with its latency."""
    report = {
        "database": {**_timed(_check_database), "embedded": settings.EMBEDDED_DATABASE},
        "broker": {**_timed(_check_broker), "kind": broker_kind(settings.BROKER_URL)},
    }
    healthy = all(part["ok"] for part in report.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **report}, status=200 if healthy else 503
    )
