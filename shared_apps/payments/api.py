"""Payment orders in a unit's API, for its department systems (on the unit's subdomain): create
the order of a case's fees (idempotent: the same case and stage give the same order) and read
orders and their state. Only the request's unit: another unit's case or slip number is 404."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from ninja.security import django_auth
from pydantic import Field

from govplatform.errors import ApiError, ErrorCode
from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts import authz
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.models import Role
from shared_apps.catalog.fees import FeeRuleError
from shared_apps.payments import actions
from shared_apps.payments.models import PaymentOrder, Refund
from shared_apps.payments.providers import provider
from shared_apps.payments.queries import finance_queue, orders_of_case, totals
from tenant_apps.cases import queries as case_queries
from tenants.models import Tenant

router = Router(tags=["payments"])
WRITERS = (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
READERS = (*WRITERS, Role.SUPERVISOR, Role.TENANT_ADMIN)
CaseId = Path(description="the case's public id")
RefundId = Path(description="the refund's id", ge=1)
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


class RefundIn(Schema):
    amount: str = Field(max_length=13, pattern=r"^\d{1,10}(\.\d{1,2})?$")
    reason: str = Field(max_length=300)
    # The payment refunded: the order's (empty) or the number of a second payment of it.
    reference: str = Field("", max_length=64)


class DecisionIn(Schema):
    note: str = Field("", max_length=300)


class RefundOut(Schema):
    id: int
    slip_number: str
    provider_reference: str
    amount: Decimal
    reason: str
    state: str
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str
    provider_refund_no: str


def _refund_out(refund) -> dict:
    return {
        "id": refund.pk,
        "slip_number": refund.order.slip_number,
        "provider_reference": refund.provider_reference,
        "amount": refund.amount,
        "reason": refund.reason,
        "state": refund.state,
        "requested_at": refund.requested_at,
        "decided_at": refund.decided_at,
        "decision_note": refund.decision_note,
        "provider_refund_no": refund.provider_refund_no,
    }


def _unit_order(request, slip_number: str) -> PaymentOrder:
    order = PaymentOrder.objects.filter(slip_number=slip_number, tenant=request.tenant).first()
    if order is None:
        raise Http404
    return order


@router.post(
    "/payment-orders/{slip_number}/refunds",
    response={201: RefundOut},
    auth=staff_auth("cases:write", *WRITERS, tokens=False),
    summary="Ask for a refund of a payment of this order (a department head decides)",
)
def request_refund(request, payload: RefundIn, slip_number: str = SlipNumber):
    refund = actions.request_refund(
        _unit_order(request, slip_number),
        actor=request.user,
        tenant=request.tenant,
        amount=payload.amount,
        reason=payload.reason,
        reference=payload.reference,
        request=request,
    )
    return Status(201, _refund_out(refund))


def _decide(request, refund_id: int, approve: bool, note: str) -> dict:
    refund = (
        Refund.objects.select_related("order")
        .filter(pk=refund_id, order__tenant=request.tenant)
        .first()
    )
    if refund is None:
        raise Http404
    decided = actions.decide_refund(
        refund,
        actor=request.user,
        tenant=request.tenant,
        approve=approve,
        note=note,
        provider=provider(),
        request=request,
    )
    return _refund_out(decided)


@router.post(
    "/refunds/{refund_id}/approve",
    response=RefundOut,
    auth=staff_auth("cases:write", Role.DEPARTMENT_HEAD, tokens=False),
    summary="Approve a refund: it is sent through the payment provider",
)
def approve_refund(request, payload: DecisionIn, refund_id: int = RefundId):
    return _decide(request, refund_id, True, payload.note)


@router.post(
    "/refunds/{refund_id}/refuse",
    response=RefundOut,
    auth=staff_auth("cases:write", Role.DEPARTMENT_HEAD, tokens=False),
    summary="Refuse a refund, with the reason",
)
def refuse_refund(request, payload: DecisionIn, refund_id: int = RefundId):
    return _decide(request, refund_id, False, payload.note)


# --- on the portal: the finance queue and the totals --------------------------------------------

portal_router = Router(tags=["payments"])
UnitCode = Query(None, min_length=12, max_length=12, pattern=r"^\d{12}$")


class MismatchOut(Schema):
    id: int
    day: date
    kind: str
    slip_number: str
    provider_reference: str
    ours: Decimal | None
    theirs: Decimal | None
    unit_code: str | None


class TotalOut(Schema):
    unit_code: str
    unit_name: str
    item_name: str
    day: date
    orders: int
    amount: Decimal


def _verified(request):
    user = request.user
    if not getattr(user, "is_authenticated", False) or not user.is_verified():
        raise HttpError(403, _("Sign in with your second factor to see payments."))
    return user


@portal_router.get(
    "/payments/mismatches",
    response=page_of(MismatchOut),
    auth=django_auth,
    summary="The reconciliation differences (the provincial finance queue)",
)
def mismatches(request, paging: Query[PageIn], resolved: bool = False):
    user = _verified(request)
    province = Tenant.objects.filter(level=Tenant.Level.PROVINCE).order_by("code").first()
    if not authz.has_role(user, province, Role.FINANCE):
        raise HttpError(403, _("Only the provincial finance staff see the reconciliation queue."))

    def render(rows):
        return [
            {
                "id": m.pk,
                "day": m.reconciliation.day,
                "kind": m.kind,
                "slip_number": m.slip_number,
                "provider_reference": m.provider_reference,
                "ours": m.ours,
                "theirs": m.theirs,
                "unit_code": m.tenant.code if m.tenant else None,
            }
            for m in rows
        ]

    return paged(finance_queue(resolved=resolved), paging, render)


@portal_router.get(
    "/payments/totals",
    response=page_of(TotalOut),
    auth=django_auth,
    summary="Payments by unit, item and day in a province's or city's units",
)
def payment_totals(
    request,
    paging: Query[PageIn],
    unit: str | None = UnitCode,
    since: date | None = None,
    until: date | None = None,
):
    user = _verified(request)
    found = (
        get_object_or_404(Tenant, code=unit)
        if unit
        else Tenant.objects.filter(level=Tenant.Level.PROVINCE).order_by("code").first()
    )
    if found.level not in (Tenant.Level.PROVINCE, Tenant.Level.CITY) or not authz.has_role(
        user, found, Role.TENANT_ADMIN
    ):
        raise HttpError(
            403, _("Only the province's and the cities' administrators see these totals.")
        )

    def render(rows):
        return [
            {
                "unit_code": r["tenant__code"],
                "unit_name": r["tenant__name"],
                "item_name": r["item_name"],
                "day": r["day"],
                "orders": r["orders"],
                "amount": r["amount"],
            }
            for r in rows
        ]

    return paged(totals(found, since, until), paging, render)
