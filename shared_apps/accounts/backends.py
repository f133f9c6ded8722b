"""Sign-in: one normal form of what people type, the account it names, and the limits around it.

Every sign-in path (the page, the token API, the admin, which sends people to the page) goes
through `django.contrib.auth.authenticate`, so the backends and django-axes below see the same
normalized identifier and lock the same key: the account, however it was written.
"""

import logging
import unicodedata

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from shared_apps.accounts.identity import id_number_digests, normalize_id_number
from shared_apps.accounts.models import User

log = logging.getLogger(__name__)

# Longer than any phone number, ID number or user name (150); axes stores up to 255.
MAX_IDENTIFIER_LENGTH = 150


def normalize_identifier(value) -> str:
    """What was typed, in one form: full-width characters as ASCII (NFKC), no control characters
    (NUL included), no surrounding spaces, lower case (an ID number's X is matched either way).
    Not cut here: forms and the API refuse what is longer than MAX_IDENTIFIER_LENGTH."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return text.strip().lower()


def find_account(identifier: str) -> User | None:
    """The account an identifier names: ID number first, then phone, then user name."""
    identifier = normalize_identifier(identifier)[:MAX_IDENTIFIER_LENGTH]
    if not identifier:
        return None
    try:
        digests = id_number_digests(normalize_id_number(identifier))
    except ValidationError:
        digests = None
    if digests:  # under every accepted key: lookups keep working while the key is rotated
        return User.objects.filter(id_number_digest__in=digests).first()
    return (
        User.objects.filter(phone=identifier).first()
        or User.objects.filter(username__iexact=identifier).order_by("pk").first()
    )


def lockout_key(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: what django-axes counts failures against. For an existing account
    its user name, whichever of its written forms was typed; otherwise the normalized text."""
    typed = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if typed is None:
        return None
    identifier = normalize_identifier(typed)[:MAX_IDENTIFIER_LENGTH]
    # Asked several times per sign-in (check, failure, success): resolve once per request.
    cache = request.__dict__.setdefault("_lockout_keys", {}) if request is not None else {}
    if identifier not in cache:
        user = find_account(identifier)
        cache[identifier] = user.get_username() if user is not None else identifier
    return cache[identifier]


def _address_failures(request, *, count: bool):
    try:
        return get_usage(
            request,
            group="sign-in-failures",
            key="ip",
            rate=settings.SIGN_IN_FAILURES_PER_ADDRESS,
            method=ALL,
            increment=count,
        )
    except Exception:
        # A cache outage must not stop every sign-in; the per-account lock-out still holds.
        log.exception("sign-in failures per address not counted")
        return None


def count_failure_from_address(request) -> None:
    """Called for every failed sign-in (signals.py)."""
    if request is not None and request.META.get("REMOTE_ADDR"):
        _address_failures(request, count=True)


class AddressLimitBackend:
    """First backend: refuses every sign-in from an address with too many failures of late, so one
    address can't try a few passwords on each of many accounts. Its limit is far above the
    per-account one: a township service point signs many people in from one address."""

    def authenticate(self, request, **credentials):
        if request is None or not request.META.get("REMOTE_ADDR"):
            return None
        usage = _address_failures(request, count=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            # Read by the views and axes' middleware as "locked out"; axes then records nothing.
            request.axes_locked_out = True
            raise PermissionDenied("too many failed sign-ins from this address")
        return None


class IdentifierBackend(ModelBackend):
    """Sign in with a mobile phone number, an ID number or a user name, and a password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = find_account(username)
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
