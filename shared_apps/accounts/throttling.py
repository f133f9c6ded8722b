"""Floods: requests per address on sign-in, sign-up and search (settings.RATE_LIMITS), counted by
django-ratelimit in Django's cache (Redis where CACHE_URL is set, a table in `public` otherwise),
and the one "too many" answer of pages and APIs."""

import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from govplatform.errors import ErrorCode, error_response

log = logging.getLogger(__name__)


class AtomicDatabaseCache(DatabaseCache):
    """Django's database cache, whose increment (a read, then a write) holds the row's lock, so
    racing requests each count: the fallback when no Redis is configured."""

    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        stored_key = self.make_and_validate_key(key, version=version)
        with transaction.atomic(using=db):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT 1 FROM {table} WHERE cache_key = %s FOR UPDATE", [stored_key]
                )
            return super().incr(key, delta, version)


def _is_api(request) -> bool:
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match else ""
    return namespace.endswith("-api") or "/api/" in request.path


def too_many(
    request, message: str, *, retry_after: int | None = None, template: str, status: int = 429
):
    if _is_api(request):
        code = ErrorCode.TOO_MANY_REQUESTS if status == 429 else ErrorCode.SERVICE_BUSY
        response = error_response(code, message)
    else:
        response = render(request, template, {"message": message}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def locked_out_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a locked account (or address) gets 429, as JSON from the APIs."""
    return too_many(
        request,
        _("Too many failed sign-ins. Try again later."),
        retry_after=int(settings.AXES_COOLOFF_TIME.total_seconds()),
        template="accounts/locked_out.html",
    )


class RateLimitMiddleware:
    """Answers 429 before the view runs once an address exceeds its rule's rate, so a flood costs
    a cache increment per request rather than a password hash or a search."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        name = request.resolver_match.view_name if request.resolver_match else ""
        for group, (rate, method, views) in settings.RATE_LIMITS.items():
            if name not in views or request.method != method:
                continue
            try:
                usage = get_usage(
                    request, group=group, key="ip", rate=rate, method=method, increment=True
                )
            except Exception:
                # A cache outage must not take sign-in down; axes still locks accounts.
                log.exception("rate limit %s not checked", group)
                return None
            if usage is not None and usage["should_limit"]:
                return too_many(
                    request,
                    _("Too many requests from your address. Wait a minute and try again."),
                    retry_after=max(usage["time_left"], 1),
                    template="accounts/too_many_requests.html",
                )
        return None


class PasswordCheckGate:
    """A bulkhead per process: at most `at_once` password checks (Argon2 takes a core for about
    0.1 s) run together and `waiting` more wait their turn; any further sign-in is answered 503 at
    once. A flood from many addresses then holds only a few of a process's threads, and the
    others keep serving pages and /healthz."""

    def __init__(self, at_once: int, waiting: int):
        self._running = threading.BoundedSemaphore(at_once)
        self._admitted = threading.BoundedSemaphore(at_once + waiting)

    @contextmanager
    def __call__(self):
        if not self._admitted.acquire(blocking=False):
            yield False
            return
        try:
            with self._running:
                yield True
        finally:
            self._admitted.release()


password_checks = PasswordCheckGate(
    settings.PASSWORD_CHECKS_AT_ONCE, settings.PASSWORD_CHECKS_WAITING
)


def busy(request):
    return too_many(
        request,
        _("Many people are signing in right now. Please try again in a moment."),
        retry_after=1,
        template="accounts/too_many_requests.html",
        status=503,
    )
