"""Payment orders in a unit's API, for its department systems (on the unit's subdomain): create
the order of a case's fees (idempotent: the same case and stage give the same order) and read
orders and their state. Only the request's unit: another unit's case or slip number is 404."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.db import connection
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Path, Router, Schema
from ninja.responses import Status
from pydantic import Field

from govplatform.errors import ApiError, ErrorCode
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role
from shared_apps.catalog.fees import FeeRuleError
from shared_apps.payments import actions
from shared_apps.payments.models import PaymentOrder
from shared_apps.payments.queries import orders_of_case
from tenant_apps.cases import queries as case_queries

router = Router(tags=["payments"])
WRITERS = (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
READERS = (*WRITERS, Role.SUPERVISOR, Role.TENANT_ADMIN)
CaseId = Path(description="the case's public id")
SlipNumber = Path(description="the payment slip number", max_length=50, pattern=r"^[0-9A-Za-z]+$")


class ItemOut(Schema):
    name: str
    legal_basis: str
    amount: Decimal
    waiver_reason: str


class OrderOut(Schema):
    slip_number: str
    case_id: uuid.UUID
    case_number: str
    stage: str
    state: str
    overdue: bool
    total: Decimal
    due_date: date
    paid_at: datetime | None
    items: list[ItemOut]


class OrderIn(Schema):
    stage: Literal["acceptance", "delivery"]


def _out(order: PaymentOrder) -> dict:
    return {
        "slip_number": order.slip_number,
        "case_id": order.case_public_id,
        "case_number": order.case_number,
        "stage": order.stage,
        "state": order.state,
        "overdue": order.overdue,
        "total": order.total,
        "due_date": order.due_date,
        "paid_at": order.paid_at,
        "items": list(order.items.all()),
    }


def _actor(request):
    token = getattr(request, "api_token", None)
    if token is not None and token.client is not None:
        return token  # a department system: audited as its client
    return request.user


def _case(case_id):
    case = case_queries.find(case_id)
    if case is None:
        raise Http404
    return case


@router.post(
    "/cases/{case_id}/payment-orders",
    response={201: OrderOut},
    auth=staff_auth("cases:write", *WRITERS),
    summary="Make the payment order of a case's fees at a stage (idempotent)",
)
def create_order(request, payload: OrderIn, case_id: uuid.UUID = CaseId):
    case = _case(case_id)
    if not case.number:
        raise ApiError(ErrorCode.CONFLICT, _("A draft is charged nothing."))
    try:
        order = actions.create_case_order(
            case, tenant=request.tenant, stage=payload.stage, actor=_actor(request), request=request
        )
    except FeeRuleError as error:
        raise ApiError(ErrorCode.CONFLICT, error.messages[0]) from None
    if order is None:
        raise ApiError(ErrorCode.CONFLICT, _("The guide charges nothing for this case then."))
    return Status(201, _out(order))


@router.get(
    "/cases/{case_id}/payment-orders",
    response=list[OrderOut],
    auth=staff_auth("cases:read", *READERS),
    summary="A case's payment orders",
)
def case_orders(request, case_id: uuid.UUID = CaseId):
    case = _case(case_id)
    connection.set_schema_to_public()  # the orders are in `public`; nothing else is read after
    return [_out(order) for order in orders_of_case(request.tenant, case.public_id)]


@router.get(
    "/payment-orders/{slip_number}",
    response=OrderOut,
    auth=staff_auth("cases:read", *READERS),
    summary="One payment order of this unit and its state",
)
def get_order(request, slip_number: str = SlipNumber):
    order = (
        PaymentOrder.objects.filter(slip_number=slip_number, tenant=request.tenant)
        .prefetch_related("items")
        .first()
    )
    if order is None:
        raise Http404
    return _out(order)


class WebhookIn(Schema):
    url: str = Field(max_length=300)


class WebhookOut(Schema):
    id: int
    url: str
    # Shown once: the key of the `X-Signature` HMAC-SHA256 over `X-Timestamp`, "\n" and the body.
    secret: str


@router.post(
    "/payment-webhooks",
    response={201: WebhookOut},
    auth=staff_auth("cases:write", *WRITERS),
    summary="Register the address this unit's paid events are sent to (signed, retried)",
)
def register_webhook(request, payload: WebhookIn):
    hook = actions.register_webhook(
        actor=_actor(request), tenant=request.tenant, url=payload.url, request=request
    )
    return Status(201, {"id": hook.pk, "url": hook.url, "secret": hook.secret})
