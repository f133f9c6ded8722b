"""Staff of a unit, for its administrators (tenant API)."""

from ninja import Router, Schema

from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role, StaffMembership

router = Router(tags=["staff"])


class MembershipOut(Schema):
    username: str
    real_name: str
    role: str
    covers_subtree: bool


@router.get(
    "/staff",
    response=list[MembershipOut],
    auth=staff_auth("staff:read", Role.TENANT_ADMIN),
    summary="Who holds which role in this unit",
)
def list_staff(request):
    memberships = StaffMembership.objects.filter(
        tenant_id=request.tenant.id, is_active=True
    ).select_related("user")
    return [
        {
            "username": m.user.username,
            "real_name": m.user.real_name,
            "role": m.role,
            "covers_subtree": m.covers_subtree,
        }
        for m in memberships.order_by("role", "user__username")
    ]
