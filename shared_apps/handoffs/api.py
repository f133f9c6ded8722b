"""The hand-offs a unit sent and received, for its staff and systems: `GET /api/v1/handoffs`
on the unit's own subdomain. Only rows naming this unit (as sender or receiver) are read; the
other unit's case is not (its number and public id only)."""

import uuid
from datetime import datetime
from typing import Literal

from django.db.models import Q
from ninja import Query, Router, Schema

from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role
from shared_apps.handoffs.models import Handoff, Kind, Status

router = Router(tags=["hand-offs"])
READERS = (
    Role.WINDOW_CLERK,
    Role.REVIEWER,
    Role.APPROVER,
    Role.DEPARTMENT_HEAD,
    Role.SUPERVISOR,
    Role.TENANT_ADMIN,
)


DIRECTION_FILTER = Query(None, description="only those this unit sent, or received")
STATUS_FILTER = Query(None, description="pending, applied or failed")


class HandoffOut(Schema):
    id: int
    direction: Literal["sent", "received"]
    other_unit_code: str
    other_unit_name: str
    case_id: uuid.UUID
    case_number: str
    kind: Kind
    status: Status
    attempts: int
    reason: str
    created_at: datetime
    applied_at: datetime | None


def _row(unit_id: int, row: Handoff) -> dict:
    sent = row.from_tenant_id == unit_id
    other = row.to_tenant if sent else row.from_tenant
    return {
        "id": row.pk,
        "direction": "sent" if sent else "received",
        "other_unit_code": other.code,
        "other_unit_name": other.name,
        "case_id": row.case_public_id,
        "case_number": row.case_number,
        "kind": row.kind,
        "status": row.status,
        "attempts": row.attempts,
        # Why the receiving side failed is the receiving side's: not shown to the sender.
        "reason": row.reason if not sent else "",
        "created_at": row.created_at,
        "applied_at": row.applied_at,
    }


@router.get(
    "/handoffs",
    response=page_of(HandoffOut),
    auth=staff_auth("cases:read", *READERS),
    summary="Hand-offs this unit sent and received (多级联办, 上报, 退回), newest first",
)
def list_handoffs(
    request,
    paging: Query[PageIn],
    direction: Literal["sent", "received"] | None = DIRECTION_FILTER,
    status: Status | None = STATUS_FILTER,
):
    unit_id = request.tenant.pk
    mine = {"sent": Q(from_tenant_id=unit_id), "received": Q(to_tenant_id=unit_id)}
    where = mine[direction] if direction else mine["sent"] | mine["received"]
    rows = Handoff.objects.filter(where).select_related("from_tenant", "to_tenant")
    if status:
        rows = rows.filter(status=status)
    return paged(rows.order_by("-id"), paging, render=lambda page: [_row(unit_id, r) for r in page])
