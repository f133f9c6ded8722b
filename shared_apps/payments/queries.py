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


def in_subtree(unit):
    """The orders of `unit` and every unit below it (by the division code's significant digits)."""
    from tenants.divisions.codes import SIGNIFICANT_DIGITS

    return {"tenant__code__startswith": unit.code[: SIGNIFICANT_DIGITS[unit.level]]}


def totals(unit, since=None, until=None):
    """Paid orders by unit, item and day (local), with their count and sum, in `unit`'s subtree."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate

    rows = PaymentOrder.objects.filter(state=OrderState.PAID, **in_subtree(unit))
    rows = rows.annotate(day=TruncDate("paid_at"))
    if since:
        rows = rows.filter(day__gte=since)
    if until:
        rows = rows.filter(day__lte=until)
    return (
        rows.values("tenant__code", "tenant__name", "item_name", "day")
        .annotate(orders=Count("id"), amount=Sum("total"))
        .order_by("-day", "tenant__code", "item_name")
    )


def finance_queue(*, resolved: bool = False):
    """The reconciliation differences waiting for (or worked by) the provincial finance staff."""
    from shared_apps.payments.models import Mismatch

    return (
        Mismatch.objects.filter(resolved=resolved)
        .select_related("reconciliation", "tenant")
        .order_by("id")
    )
