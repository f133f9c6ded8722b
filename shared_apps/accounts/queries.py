"""Reads about accounts, consents and tokens (writes live in `actions`)."""

import hashlib

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import ApiToken, AssuranceLevel, ProxyConsent, User


class AssuranceTooLow(PermissionDenied):
    pass


def require_assurance(user: User, level: int) -> None:
    if user.assurance_level < level:
        raise AssuranceTooLow(
            _("This needs an account verified at level %(level)d (%(label)s).")
            % {"level": level, "label": AssuranceLevel(level).label}
        )


def valid_consent(*, agent: User, citizen: User, tenant) -> ProxyConsent:
    """The consent under which the agent may act for the citizen in this unit now, or
    PermissionDenied. Unconfirmed, revoked and expired consents don't count."""
    consent = (
        ProxyConsent.objects.filter(
            agent=agent,
            citizen=citizen,
            tenant_id=getattr(tenant, "id", None),
            confirmed_at__isnull=False,
            revoked_at__isnull=True,
            valid_until__gt=timezone.now(),
        )
        .order_by("-valid_until")
        .first()
    )
    if consent is None:
        raise PermissionDenied(
            _("%(citizen)s has not consented to you filing for them.")
            % {"citizen": citizen.display_name}
        )
    return consent


def consents_given(citizen: User):
    """The citizen's consents, newest first, for their account page and API."""
    return (
        ProxyConsent.objects.filter(citizen=citizen)
        .select_related("agent", "tenant", "recorded_by")
        .order_by("-recorded_at")
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_owner(token: str) -> ApiToken | None:
    """The live access token behind a bearer value, or None."""
    found = (
        ApiToken.objects.select_related("user", "client")
        .filter(
            digest=token_digest(token),
            kind=ApiToken.Kind.ACCESS,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if found is None:
        return None
    if found.user is not None and (
        not found.user.is_active or found.session_generation != found.user.session_generation
    ):
        return None
    if found.client is not None and not found.client.is_active:
        return None
    return found
