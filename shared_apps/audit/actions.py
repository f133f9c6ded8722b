import ipaddress

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from shared_apps.audit.models import AuditEntry

GENESIS = "0" * 64
_CHAIN_LOCK = 4_100_000_002  # pg_advisory_xact_lock key: one writer extends the chain at a time


def _client_ip(request) -> str | None:
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def record_audit(
    *,
    actor,
    action: str,
    target: str = "",
    data: dict | None = None,
    tenant=None,
    on_behalf_of: str = "",
    request=None,
) -> AuditEntry:
    """Append one entry to the audit chain. `actor` is a user or a label for a non-human actor
    ("system:import"). Done on behalf of someone (代办): taken from the request when not given."""
    user = actor if isinstance(actor, AbstractBaseUser) else None
    if (
        not on_behalf_of
        and request is not None
        and getattr(request, "acting_for", None) is not None
    ):
        on_behalf_of = request.acting_for.audit_label
    entry = AuditEntry(
        at=timezone.now(),
        actor=(user.get_username() if user else str(actor))[:150],
        actor_user=user,
        on_behalf_of=on_behalf_of[:150],
        tenant_code=getattr(tenant, "code", "") or "",
        action=action,
        target=str(target)[:300],
        data=data or {},
        ip_address=_client_ip(request),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        cursor.execute("SELECT entry_hash FROM audit_auditentry ORDER BY id DESC LIMIT 1")
        last = cursor.fetchone()
        entry.prev_hash = last[0] if last else GENESIS
        entry.entry_hash = entry.compute_hash()
        entry.save()
    return entry
