"""Who may do what where. Always decided from the tenant of the request (its Host header), never
from ids in the request alone.

A user's roles in a tenant are the active memberships in that tenant, plus those in any unit above
it that cover their subtree (a city administrator in its counties). Ancestors follow from the
12-digit division code, so this is one query, cached on the request.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q

from shared_apps.accounts.models import Role, StaffMembership
from tenants.divisions.codes import SIGNIFICANT_DIGITS

ADMIN_ROLES = {Role.TENANT_ADMIN}


def ancestor_codes(code: str) -> list[str]:
    return [
        code[:digits].ljust(12, "0")
        for digits in SIGNIFICANT_DIGITS.values()
        if code[:digits].ljust(12, "0") != code
    ]


def roles_in(user, tenant) -> set[str]:
    if (
        not getattr(user, "is_authenticated", False)
        or tenant is None
        or getattr(tenant, "id", None) is None
    ):
        return set()
    cache = user.__dict__.setdefault("_roles_by_tenant", {})
    if tenant.id not in cache:
        cache[tenant.id] = set(
            StaffMembership.objects.filter(user=user, is_active=True)
            .filter(
                Q(tenant_id=tenant.id)
                | Q(covers_subtree=True, tenant__code__in=ancestor_codes(tenant.code))
            )
            .values_list("role", flat=True)
        )
    return cache[tenant.id]


def is_staff_member(user) -> bool:
    """Staff sign in with a second factor."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or StaffMembership.objects.filter(user=user, is_active=True).exists()


def has_role(user, tenant, *roles) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    held = roles_in(user, tenant)
    return bool(held & set(roles)) if roles else bool(held)


def administered_people(actor, users) -> set[int]:
    """The ids of those among `users` all of whose active roles lie in units `actor` administers.
    Only for them may the administrator see the real name or replace the second factor: granting
    another unit's staff member a role here does not make them this administrator's to manage."""
    if getattr(actor, "is_superuser", False):
        return {u.pk for u in users}
    candidates = {u.pk for u in users if not u.is_superuser}
    foreign = set()
    for membership in StaffMembership.objects.filter(
        user_id__in=candidates, is_active=True
    ).select_related("tenant"):
        if not has_role(actor, membership.tenant, Role.TENANT_ADMIN):
            foreign.add(membership.user_id)
    return candidates - foreign


def with_roles_elsewhere(memberships, tenant):
    """Annotate a unit's memberships with whether their holder has active roles in other units."""
    return memberships.annotate(
        elsewhere=Exists(
            StaffMembership.objects.filter(user=OuterRef("user"), is_active=True).exclude(
                tenant_id=tenant.id
            )
        )
    )


def names_shown(actor, memberships) -> set[int]:
    """The ids of the people (of memberships annotated by `with_roles_elsewhere`) whose real name
    the administrator sees; one more query only when someone holds roles elsewhere."""
    doubtful = {m.user_id: m.user for m in memberships if m.elsewhere or m.user.is_superuser}
    named = administered_people(actor, list(doubtful.values()))
    return {m.user_id for m in memberships if m.user_id in named or m.user_id not in doubtful}


def require_role(request, *roles) -> None:
    """Raise PermissionDenied unless the signed-in person, verified with a second factor, holds one
    of `roles` (any role if none are named) in the request's tenant."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if not getattr(request, "auth_via_token", False) and not user.is_verified():
        raise PermissionDenied
    if not has_role(user, request.tenant, *roles):
        raise PermissionDenied
