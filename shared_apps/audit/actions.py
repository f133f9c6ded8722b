from django.contrib.auth.base_user import AbstractBaseUser

from shared_apps.audit.models import AuditEntry


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
    """Write one audit entry. `actor` is a user or a label for a non-human actor ("system:import")."""
    user = actor if isinstance(actor, AbstractBaseUser) else None
    return AuditEntry.objects.create(
        actor=(user.get_username() if user else str(actor))[:150],
        actor_user=user,
        on_behalf_of=on_behalf_of[:150],
        tenant_code=getattr(tenant, "code", "") or "",
        action=action,
        target=str(target)[:300],
        data=data or {},
        ip_address=request.META.get("REMOTE_ADDR") if request is not None else None,
    )
