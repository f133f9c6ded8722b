"""Changes to tenants. Every one is atomic, names its actor and leaves an audit entry."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from shared_apps.audit.actions import record_audit
from tenants.hosts import host_map
from tenants.models import Tenant


class TenantStateError(ValueError):
    """The change conflicts with the unit's current state."""


class ReasonRequired(ValueError):
    """A change that must say why was asked for without a reason."""


def _require_provincial_admin(actor, request) -> None:
    """Provincial administrators only; through the web, signed in with their second factor."""
    verified = request is None or request.user.is_verified()
    if not (getattr(actor, "is_superuser", False) and verified):
        raise PermissionDenied(_("Only provincial administrators may do this."))


def _set_status(
    tenant: Tenant, status: str, *, actor, reason: str, action: str, request=None
) -> Tenant:
    _require_provincial_admin(actor, request)
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == Tenant.Status.RETIRED:
            raise TenantStateError(
                _("%(tenant)s is retired; only a division import reinstates it.")
                % {"tenant": locked}
            )
        previous = locked.status
        locked.status, locked.status_reason = status, reason[:200]
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        record_audit(
            actor=actor,
            action=action,
            target=locked.code,
            tenant=locked,
            data={"from": previous, "to": status, "reason": reason},
            request=request,
        )
    host_map.invalidate()
    return locked


def suspend_tenant(tenant: Tenant, *, actor, reason: str, request=None) -> Tenant:
    """Take a unit's online services offline (its pages say so); its data stays."""
    if not reason.strip():
        raise ReasonRequired(_("Give a reason for suspending the unit."))
    return _set_status(
        tenant,
        Tenant.Status.SUSPENDED,
        actor=actor,
        reason=reason,
        action="tenants.suspend",
        request=request,
    )


def resume_tenant(tenant: Tenant, *, actor, request=None) -> Tenant:
    return _set_status(
        tenant,
        Tenant.Status.ACTIVE,
        actor=actor,
        reason="",
        action="tenants.resume",
        request=request,
    )
