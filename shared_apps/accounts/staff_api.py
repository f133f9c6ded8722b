"""Staff of a unit, for its administrators (tenant API)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts import actions
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.authz import names_shown, with_roles_elsewhere
from shared_apps.accounts.models import ENROLMENT_LINK_HOURS, Role, StaffMembership, User

router = Router(tags=["staff"])


class EnrolmentLinkOut(Schema):
    url: str
    valid_hours: int


class MembershipOut(Schema):
    username: str
    real_name: str
    role: str
    covers_subtree: bool


@router.get(
    "/staff",
    response=page_of(MembershipOut),
    auth=staff_auth("staff:read", Role.TENANT_ADMIN),
    summary="Who holds which role in this unit",
)
def list_staff(request, paging: Query[PageIn]):
    memberships = (
        with_roles_elsewhere(
            StaffMembership.objects.filter(tenant_id=request.tenant.id, is_active=True),
            request.tenant,
        )
        .select_related("user")
        .order_by("role", "user__username", "id")
    )

    def render(page: list) -> list[dict]:
        # Not the name of someone whose other roles lie in units this administrator doesn't run.
        named = names_shown(request.user, page)
        return [
            {
                "username": m.user.username,
                "real_name": m.user.real_name if m.user_id in named else "",
                "role": m.role,
                "covers_subtree": m.covers_subtree,
            }
            for m in page
        ]

    return paged(memberships, paging, render)


@router.post(
    "/staff/{username}/enrolment-link",
    response={201: EnrolmentLinkOut},
    auth=staff_auth(None, Role.TENANT_ADMIN, tokens=False),
    summary="A one-time link for a staff member to enrol their authenticator app",
)
def issue_enrolment_link(request, username: str):
    """Valid 24 hours, usable once, shown only in this response; hand it over out of band. A new
    link voids the earlier ones."""
    staff_here = User.objects.filter(
        memberships__tenant_id=request.tenant.id, memberships__is_active=True
    ).distinct()
    person = get_object_or_404(staff_here, username=username[:150].replace("\x00", ""))
    try:
        code = actions.issue_enrolment_link(
            actor=request.user, user=person, tenant=request.tenant, request=request
        )
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    url = request.build_absolute_uri(reverse("accounts:enrol", args=[code]))
    return Status(201, {"url": url, "valid_hours": ENROLMENT_LINK_HOURS})
