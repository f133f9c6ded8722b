"""Reads of payment orders, shared by the case actions, the pages and the API."""

from decimal import Decimal

from shared_apps.payments.models import OrderState, Outcome, PaymentOrder, RefundState


def waiting_order(case_public_id, stage: str) -> PaymentOrder | None:
    """The unpaid order of this case and stage that the case waits for, if any."""
    return (
        PaymentOrder.objects.filter(
            case_public_id=case_public_id, stage=stage, case_waits=True, state=OrderState.PENDING
        )
        .order_by("id")
        .first()
    )


def orders_of_case(tenant, case_public_id) -> list[PaymentOrder]:
    """A case's orders, looked up with its unit: an id from another unit finds nothing."""
    return list(
        PaymentOrder.objects.filter(tenant=tenant, case_public_id=case_public_id)
        .prefetch_related("items")
        .order_by("id")
    )


def order_by_slip(slip_number: str) -> PaymentOrder | None:
    return PaymentOrder.objects.select_related("tenant").filter(slip_number=slip_number).first()


def refundable(order: PaymentOrder, reference: str) -> Decimal:
    """What is left to refund of the payment `reference` of this order (0: not its payment)."""
    if reference == order.provider_reference and order.state == OrderState.PAID:
        paid = order.total
    else:
        second = order.notifications.filter(
            provider_reference=reference, outcome=Outcome.DOUBLE_PAYMENT
        ).first()
        paid = second.amount if second else Decimal("0")
    asked = sum(
        order.refunds.filter(provider_reference=reference)
        .exclude(state=RefundState.REFUSED)
        .values_list("amount", flat=True),
        start=Decimal("0"),
    )
    return paid - asked
