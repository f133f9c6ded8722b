"""Background jobs with dramatiq.

The broker comes from DRAMATIQ_BROKER_URL: `redis://…` (the production default) or `amqp://…`
(RabbitMQ). With none set, messages queue in the platform's own PostgreSQL (dramatiq-postgres), so
jobs run on a machine with nothing but the embedded database.

Actors that work inside a tenant are declared with @tenant_actor: the message carries the tenant's
division code, the worker enters that tenant's schema for the call and always leaves it, and a
message for an unknown, retired or suspended tenant fails at once with a clear error instead of
being retried.
"""

import functools
import logging
from urllib.parse import urlsplit

import dramatiq
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

logger = logging.getLogger(__name__)


class TenantUnavailable(Exception):
    """The tenant a message names doesn't exist or doesn't accept work: never retried."""


class DatabaseConnections(Middleware):
    """Django's request-boundary connection hygiene, at message boundaries: drop broken or
    too-old connections, leave the tenant schema, and recycle a connection that has entered
    too many schemas (see tenants.postgresql)."""

    def _tidy(self):
        from django.db import close_old_connections, connection

        connection.set_schema_to_public()
        close_old_connections()

    def before_process_message(self, broker, message):
        self._tidy()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._tidy()

    after_skip_message = after_process_message


def database_broker_url() -> str:
    """A libpq URL for the platform's database, for the PostgreSQL broker."""
    from django.conf import settings

    return settings.DATABASE_URL


def broker_kind(url: str) -> str:
    scheme = urlsplit(url).scheme if url else ""
    if scheme in ("redis", "rediss"):
        return "redis"
    if scheme in ("amqp", "amqps"):
        return "rabbitmq"
    if scheme in ("", "postgres", "postgresql"):
        return "postgres"
    raise ValueError(
        f"DRAMATIQ_BROKER_URL: unsupported scheme {scheme!r} (use redis://, amqp:// or postgresql://)"
    )


def build_broker(url: str):
    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=5, min_backoff=1000, max_backoff=60_000),
        CurrentMessage(),
        DatabaseConnections(),
    ]
    kind = broker_kind(url)
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, middleware=middleware)
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=middleware)
    from dramatiq_postgres import PostgresBroker

    return PostgresBroker(url=url or database_broker_url(), results=False, middleware=middleware)


def ensure_postgres_queue_tables(url: str) -> None:
    """The PostgreSQL broker keeps its queue in a `dramatiq` schema: create it if missing."""
    import psycopg
    from dramatiq_postgres.schema import init

    with (
        psycopg.connect(url or database_broker_url(), autocommit=False) as conn,
        conn.cursor() as cursor,
    ):
        init(cursor)
        conn.commit()


def setup_broker():
    """Make the configured broker dramatiq's global broker (once per process)."""
    from django.conf import settings

    broker = build_broker(settings.BROKER_URL)
    if broker_kind(settings.BROKER_URL) == "postgres":
        ensure_postgres_queue_tables(settings.BROKER_URL)
    dramatiq.set_broker(broker)
    return broker


def tenant_actor(fn=None, **options):
    """Declare an actor that runs inside one tenant's schema.

    Send it with the tenant's division code first: `my_actor.send(tenant.code, ...)`.
    """
    options.setdefault("throws", (TenantUnavailable,))

    def decorate(func):
        @functools.wraps(func)
        def run_in_tenant(tenant_code: str, *args, **kwargs):
            from django.db import connection
            from django.utils.translation import gettext as _

            from tenants.models import Tenant

            connection.set_schema_to_public()
            tenant = Tenant.objects.filter(code=tenant_code).first()
            if tenant is None or tenant.provisioned_at is None:
                refusal = _("No tenant has the division code %(code)s.") % {"code": tenant_code}
            elif tenant.status != Tenant.Status.ACTIVE:
                refusal = _("%(tenant)s is %(status)s and accepts no work.") % {
                    "tenant": tenant,
                    "status": tenant.get_status_display(),
                }
            else:
                refusal = ""
            if refusal:
                logger.error("Job %s refused: %s", func.__name__, refusal)
                raise TenantUnavailable(refusal)
            connection.set_tenant(tenant)
            try:
                return func(*args, **kwargs)
            finally:
                connection.set_schema_to_public()

        return dramatiq.actor(
            run_in_tenant, actor_name=options.pop("actor_name", func.__name__), **options
        )

    return decorate(fn) if fn is not None else decorate
