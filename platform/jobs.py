"""Background jobs with dramatiq.

The broker comes from DRAMATIQ_BROKER_URL: `redis://…` (the production default) or `amqp://…`
(RabbitMQ). With none set, messages queue in the platform's own PostgreSQL (dramatiq-postgres), so
jobs run on a machine with nothing but the embedded database.

Actors that work inside a tenant are declared with @tenant_actor: the message carries the tenant's
division code, the worker enters that tenant's schema for the call and then returns to the schema
that was active before. A message for an unknown, retired or suspended tenant fails at once with a
clear error instead of being retried; one for a unit whose schema is not provisioned yet is retried
(provisioning follows the unit's creation within seconds).

Every @tenant_actor is idempotent: its body runs in one transaction that first records the message
id (shared_apps.jobs.JobCompletion), so a message delivered again after its worker was killed
between commit and acknowledgement does nothing the second time. The brokers are configured to
deliver a killed worker's messages again within a bound (the constants below, README "Jobs").
"""

import functools
import logging
import re
import threading
import time
import uuid
from contextvars import ContextVar
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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

# How soon a killed worker's unacknowledged messages are delivered again, per broker.
# Redis: a worker counts as dead this long after its last heartbeat (sent on every fetch, at least
# once a second while it runs), and the queue maintenance that requeues its messages runs on every
# command instead of dramatiq's default random 0.1 % of them.
REDIS_HEARTBEAT_TIMEOUT_MS = 15_000
# PostgreSQL broker: heartbeat every 5 s, dead after 15 s without one, dead workers' messages
# requeued by a maintenance pass every 2.5–7.5 s (dramatiq-postgres jitters the interval).
POSTGRES_HEARTBEAT_INTERVAL_S = 5.0
POSTGRES_HEARTBEAT_TTL_S = 15.0
POSTGRES_MAINTENANCE_INTERVAL_S = 5.0
# RabbitMQ requeues a consumer's unacknowledged messages as soon as its connection closes: at once
# when the process dies; after the AMQP heartbeat timeout when its machine or network is lost.
RABBITMQ_HEARTBEAT_S = 15

# Completion records outlive any redelivery by far: Redis keeps dead-lettered messages (which an
# operator may enqueue again, same id) for 7 days.
COMPLETIONS_KEPT = timedelta(days=7)
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH = 10_000

_DIVISION_CODE = re.compile(r"\d{12}", re.ASCII)
# True while a @tenant_actor body runs in this thread: actors it calls directly are part of its job.
_in_job: ContextVar[bool] = ContextVar("in_tenant_job", default=False)


class TenantUnavailable(Exception):
    """The tenant a message names doesn't exist or doesn't accept work: never retried."""


class TenantNotProvisioned(Exception):
    """The unit exists but its schema is not created yet: retried with the actor's backoff, since
    provisioning follows the unit's creation (import_divisions, migrate_tenants)."""


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


class PruneCompletions(Middleware):
    """Delete completion records older than COMPLETIONS_KEPT, at most once an hour per worker
    process, after a message (so an idle worker costs nothing)."""

    def __init__(self):
        self.next_prune = 0.0

    def after_process_message(self, broker, message, *, result=None, exception=None):
        now = time.monotonic()
        if now < self.next_prune:
            return
        self.next_prune = now + PRUNE_EVERY_S
        try:
            prune_completions()
        except Exception:  # housekeeping must never fail a job; the next hour tries again
            logger.exception("Pruning job completion records failed")


def prune_completions(older_than: timedelta = COMPLETIONS_KEPT) -> int:
    """Delete completion records of runs begun before `older_than` ago, in short batches so no
    transaction holds many row locks. Returns how many were deleted."""
    from django.db import connection

    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM public.jobs_jobcompletion WHERE message_id IN ("
                " SELECT message_id FROM public.jobs_jobcompletion"
                " WHERE ran_at < now() - %s LIMIT %s)",
                [older_than, PRUNE_BATCH],
            )
            deleted += cursor.rowcount
        if cursor.rowcount < PRUNE_BATCH:
            return deleted


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


def with_default_heartbeat(url: str) -> str:
    """The AMQP URL with our heartbeat unless it names one itself."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "heartbeat" for key, _value in query):
        return url
    query.append(("heartbeat", str(RABBITMQ_HEARTBEAT_S)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_broker(url: str):
    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=5, min_backoff=1000, max_backoff=60_000),
        CurrentMessage(),
        PruneCompletions(),
        DatabaseConnections(),
    ]
    kind = broker_kind(url)
    if kind == "redis":
        from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker

        return RedisBroker(
            url=url,
            middleware=middleware,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_SCALE,
        )
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=with_default_heartbeat(url), middleware=middleware)
    from dramatiq_postgres import PostgresBroker

    return PostgresBroker(
        url=url or database_broker_url(),
        results=False,
        middleware=middleware,
        heartbeat_interval=POSTGRES_HEARTBEAT_INTERVAL_S,
        heartbeat_ttl=POSTGRES_HEARTBEAT_TTL_S,
        maintenance_interval=POSTGRES_MAINTENANCE_INTERVAL_S,
    )


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


_broker = None
_broker_lock = threading.Lock()


def setup_broker():
    """Make the configured broker dramatiq's global broker (once per process)."""
    global _broker
    from django.conf import settings

    broker = build_broker(settings.BROKER_URL)
    if broker_kind(settings.BROKER_URL) == "postgres":
        ensure_postgres_queue_tables(settings.BROKER_URL)
    dramatiq.set_broker(broker)
    _broker = broker
    return broker


def configured_broker():
    """The configured broker, set up on first use: what an `actors` module declares its actors
    on, so that a web process sending a job uses the platform's broker (dramatiq would otherwise
    make up a RabbitMQ broker on localhost) and the worker (which sets it up first) the same."""
    with _broker_lock:
        return _broker if _broker is not None else setup_broker()


def _record_completion(message_id: str, actor_name: str, tenant_code: str) -> bool:
    """Record that this message's job is done, in the caller's transaction. False if a committed
    run already recorded it. A run of the same message still in progress elsewhere holds the row:
    this waits for it, then sees its record (or, if it rolled back, takes over)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.jobs_jobcompletion (message_id, actor_name, tenant_code, ran_at)"
            " VALUES (%s, %s, %s, now()) ON CONFLICT (message_id) DO NOTHING",
            [uuid.UUID(message_id), actor_name[:200], tenant_code],
        )
        return cursor.rowcount == 1


def _is_division_code(value) -> bool:
    return isinstance(value, str) and _DIVISION_CODE.fullmatch(value) is not None


def _refuse(job: str, refusal: str):
    logger.error("Job %s refused: %s", job, refusal)
    raise TenantUnavailable(refusal)


def _admit(tenant_code: str, job: str):
    """The active, provisioned tenant with this division code, or the refusal raised."""
    from django.utils.translation import gettext as _

    from tenants.models import Tenant

    tenant = Tenant.objects.filter(code=tenant_code).first()
    if tenant is None:
        _refuse(job, _("No tenant has the division code %(code)s.") % {"code": tenant_code})
    if tenant.status != Tenant.Status.ACTIVE:
        _refuse(
            job,
            _("%(tenant)s is %(status)s and accepts no work.")
            % {"tenant": tenant, "status": tenant.get_status_display()},
        )
    if tenant.provisioned_at is None:
        refusal = _("The schema of %(tenant)s is not provisioned yet.") % {"tenant": tenant}
        logger.warning("Job %s refused for now: %s", job, refusal)
        raise TenantNotProvisioned(refusal)
    return tenant


def tenant_actor(fn=None, **options):
    """Declare an actor that runs inside one tenant's schema, exactly once per message.

    Send it with the tenant's division code first: `my_actor.send(tenant.code, ...)`. The body
    runs in one database transaction that also records the message as done; a message delivered
    again (its worker died before acknowledging it) is skipped. Keep the body's effects in the
    database: e-mail, SMS or calls to other systems are not rolled back and not deduplicated, so
    queue them from the body (a row) and send them from there. Called directly (not through a
    broker) it runs in the tenant's schema without a completion record, inside the caller's
    transaction if there is one.
    """
    throws = options.pop("throws", ())
    if isinstance(throws, type):
        throws = (throws,)
    # Whatever the actor throws for itself, a refused tenant is never retried.
    options["throws"] = (*throws, TenantUnavailable)

    def decorate(func):
        actor_name = options.pop("actor_name", func.__name__)

        @functools.wraps(func)
        def run_in_tenant(tenant_code: str, *args, **kwargs):
            from django.db import connection, transaction
            from django.utils.translation import gettext as _

            if not _is_division_code(tenant_code):
                # Before any query: an over-long or NUL-laden code is just unknown.
                _refuse(
                    actor_name,
                    _("No tenant has the division code %(code)s.")
                    % {"code": repr(tenant_code)[:40]},
                )
            previous = connection.tenant
            include_public = getattr(connection, "include_public_schema", True)
            message = CurrentMessage.get_current_message()
            # Only this actor's own delivery is recorded; an actor called directly from a job's body
            # is covered by that job's record.
            own_message = (
                message is not None and message.actor_name == actor_name and not _in_job.get()
            )
            try:
                connection.set_schema_to_public()
                with transaction.atomic():
                    # First the record, then the tenant's state: a message that was done is
                    # skipped even if its unit has been suspended since.
                    if own_message and not _record_completion(
                        message.message_id, actor_name, tenant_code
                    ):
                        logger.info(
                            "Job %s: message %s was already done; skipped.",
                            actor_name,
                            message.message_id,
                        )
                        return None
                    connection.set_tenant(_admit(tenant_code, actor_name))
                    in_job = _in_job.set(True)
                    try:
                        return func(*args, **kwargs)
                    finally:
                        _in_job.reset(in_job)
            finally:
                if previous is None:
                    connection.set_schema_to_public()
                else:
                    connection.set_tenant(previous, include_public=include_public)

        return dramatiq.actor(run_in_tenant, actor_name=actor_name, **options)

    return decorate(fn) if fn is not None else decorate
