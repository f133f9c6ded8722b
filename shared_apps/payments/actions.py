"""Every write to payments: one transaction, one audit entry each (house rules).

Paying exactly once: `receive_result` locks the order row (SELECT … FOR UPDATE) before it looks
at its state, so of any number of results for one order arriving at once (the notification, its
retries, the browser's return) the first pays it and the others find it paid; a partial unique
index (payments_paid_once) holds the same in the database whatever code runs.
"""

import re
import secrets
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.audit.actions import Actor, record_audit
from shared_apps.catalog.fees import amount_due, waiver_reason
from shared_apps.catalog.models import GuideFee
from shared_apps.payments import queries, webhooks
from shared_apps.payments.models import (
    Mismatch,
    Notification,
    OrderItem,
    OrderState,
    Outcome,
    PaymentOrder,
    Reconciliation,
    Refund,
    RefundState,
    Webhook,
)
from shared_apps.payments.providers import BadSignature, ProviderError
from tenants.links import portal_url

SYSTEM = "system:payments"


def _slip_number(tenant, today) -> str:
    # Unit code (12) + date (8) + 12 random digits: unique (the constraint), not guessable (the
    # slip number alone opens the payment page), no invented check digit (DESIGN §5).
    return f"{tenant.code}{today:%Y%m%d}{secrets.randbelow(10**12):012d}"


def _tell(order: PaymentOrder, kind: str, actor) -> None:
    from shared_apps.notifications.inbox import notify

    context = {
        "unit": order.tenant.name,
        "item": order.item_name,
        "number": order.case_number,
        "amount": f"{order.total:.2f}",
        "slip": order.slip_number,
        "due": f"{order.due_date:%Y-%m-%d}",
    }
    link = portal_url(f"/pay/{order.slip_number}")
    notify(order.payer, kind, context, actor=actor, link=link, tenant=order.tenant)


def create_case_order(case, *, tenant, stage: str, actor, request=None) -> PaymentOrder | None:
    """The payment order for the guide's fees of `stage` on this case (缴款单), computed from its
    form data by the declared rules, waivers applied. None where the guide charges nothing then.
    Called again for the same case and stage, it returns the order already made."""
    existing = _live_order(case, stage)
    if existing is not None:
        return existing
    if (stage == "acceptance" and not case.accepted_at) or (
        stage == "delivery" and case.decision != "approved"
    ):
        raise ValidationError(
            _("The fees of this stage are charged once the case is accepted or approved.")
        )
    fees = list(GuideFee.objects.filter(version_id=case.guide_version_id, stage=stage))
    if not fees:
        return None
    items = []
    for fee in fees:
        waived = waiver_reason(fee.waivers, case.form_data)
        amount = 0 if waived else amount_due(fee.rule, case.form_data)
        items.append(
            OrderItem(
                fee=fee,
                name=fee.name,
                legal_basis=fee.legal_basis,
                amount=amount,
                waiver_reason=waived,
            )
        )
    total = sum((item.amount for item in items), start=0)
    if total == 0:
        return None
    today = timezone.localdate()
    try:
        with transaction.atomic():
            return _make_order(case, tenant, stage, fees, items, total, today, actor, request)
    except IntegrityError as error:
        # Another request made this case's order for the stage between the check above and this
        # insert (the one-live-order constraint waited for it to commit): that order is the one.
        if "payments_one_live_order_per_stage" not in str(error):
            raise
        return _live_order(case, stage)


def _live_order(case, stage: str) -> PaymentOrder | None:
    return (
        PaymentOrder.objects.filter(case_public_id=case.public_id, stage=stage)
        .exclude(state=OrderState.CANCELLED)
        .first()
    )


def _make_order(case, tenant, stage, fees, items, total, today, actor, request) -> PaymentOrder:
    """The order, its items, its audit entry and the payer told, in the caller's transaction."""
    order = PaymentOrder.objects.create(
        slip_number=_slip_number(tenant, today),
        tenant=tenant,
        department_id=case.department_id,
        department_name=case.department_name,
        case_public_id=case.public_id,
        case_number=case.number,
        item_name=case.item_name,
        stage=stage,
        case_waits=any(fee.case_waits for fee in fees),
        payer_id=case.applicant_id,
        total=total,
        due_date=today + timedelta(days=max(fee.days_to_pay for fee in fees)),
    )
    for item in items:
        item.order = order
    OrderItem.objects.bulk_create(items)
    record_audit(
        actor=actor,
        action="payments.create_order",
        target=order.slip_number,
        tenant=tenant,
        data={"case": case.number, "stage": stage, "total": f"{total:.2f}"},
        request=request,
    )
    _tell(order, "payment_due", actor)
    return order


def receive_result(provider, params, *, via: str, request=None) -> Notification:
    """A payment result from the provider (`via` "notify" or "return"): believed only with a valid
    signature, applied only for a known order and its exact amount, and paying the order once
    whatever the order, number and timing of the messages. Every result is kept and audited."""
    now = timezone.now()
    try:
        result = provider.parse_result(params)
    except BadSignature:
        with transaction.atomic():
            row = Notification.objects.create(
                provider=provider.name,
                slip_number=str(params.get("out_trade_no", ""))[:50].replace("\x00", ""),
                provider_reference=str(params.get("trade_no", ""))[:64].replace("\x00", ""),
                outcome=Outcome.BAD_SIGNATURE,
                via=via,
                received_at=now,
            )
            record_audit(
                actor=f"provider:{provider.name}",
                action="payments.bad_signature",
                target=row.slip_number,
                data={"via": via},
                request=request,
            )
        return row
    with transaction.atomic():
        order = (
            PaymentOrder.objects.select_for_update()
            .select_related("tenant", "payer")
            .filter(slip_number=result.slip_number)
            .first()
        )
        if order is None:
            outcome = Outcome.UNKNOWN_ORDER
        elif result.amount != order.total:
            outcome = Outcome.WRONG_AMOUNT
        elif order.state == OrderState.PENDING:
            outcome = Outcome.PAID
        elif order.provider_reference == result.reference:
            outcome = Outcome.DUPLICATE
        else:  # paid twice, or paid after it was cancelled: the money goes back (a refund)
            outcome = Outcome.DOUBLE_PAYMENT
        if outcome == Outcome.PAID:
            order.state, order.paid_at, order.overdue = OrderState.PAID, now, False
            order.provider, order.provider_reference = provider.name, result.reference
            order.save(
                update_fields=["state", "paid_at", "overdue", "provider", "provider_reference"]
            )
        row = Notification.objects.create(
            provider=provider.name,
            order=order,
            slip_number=result.slip_number,
            provider_reference=result.reference,
            amount=result.amount,
            outcome=outcome,
            via=via,
            received_at=now,
        )
        record_audit(
            actor=f"provider:{provider.name}",
            action=f"payments.{outcome}",
            target=result.slip_number,
            tenant=order.tenant if order else None,
            data={"via": via, "reference": result.reference, "amount": f"{result.amount:.2f}"},
            request=request,
        )
        if outcome == Outcome.PAID:
            _tell(order, "payment_received", f"provider:{provider.name}")
            if webhooks.queue_paid_event(order):
                transaction.on_commit(_send_webhooks, robust=True)
    return row


def _send_webhooks() -> None:
    from shared_apps.payments.actors import deliver_payment_webhooks

    deliver_payment_webhooks.send()  # a lost message is caught up by run_scheduler


def cancel_order(order: PaymentOrder, *, actor, tenant, reason: str, request=None) -> PaymentOrder:
    """Cancel an unpaid order of this unit (charged in error, or the case withdrawn)."""
    from shared_apps.accounts import authz

    who = Actor.of(actor)
    if who.user is None or not authz.roles_in(who.user, tenant) or order.tenant_id != tenant.id:
        raise PermissionDenied(_("Only this unit's staff may cancel its payment orders."))
    reason = (reason or "").strip()
    if not reason or "\x00" in reason or len(reason) > 300:
        raise ValidationError(
            {"reason": [_("Give the reason for cancelling (up to 300 characters).")]}
        )
    with transaction.atomic():
        updated = PaymentOrder.objects.filter(pk=order.pk, state=OrderState.PENDING).update(
            state=OrderState.CANCELLED
        )
        if not updated:
            raise ValidationError(_("Only an unpaid order can be cancelled."))
        record_audit(
            actor=who,
            action="payments.cancel_order",
            target=order.slip_number,
            tenant=tenant,
            data={"reason": reason},
            request=request,
        )
    order.refresh_from_db()
    return order


def mark_overdue(*, actor=SYSTEM, today=None) -> int:
    """Mark the unpaid orders past their due date and tell each payer, once."""
    today = today or timezone.localdate()
    with transaction.atomic():
        ids = list(
            PaymentOrder.objects.select_for_update(skip_locked=True)
            .filter(state=OrderState.PENDING, overdue=False, due_date__lt=today)
            .values_list("id", flat=True)
        )
        PaymentOrder.objects.filter(id__in=ids).update(overdue=True)
        for order in PaymentOrder.objects.select_related("tenant", "payer").filter(id__in=ids):
            _tell(order, "payment_overdue", actor)
        record_audit(
            actor=actor,
            action="payments.mark_overdue",
            target=f"{today:%Y-%m-%d}",
            data={"orders": len(ids)},
        )
    return len(ids)


# --- refunds (退款) ----------------------------------------------------------------------------

STAFF = {"window_clerk", "reviewer", "approver", "department_head"}
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?")


def _note(text: str, field: str, *, required: bool) -> str:
    text = (text or "").strip()
    if "\x00" in text or len(text) > 300 or (required and not text):
        raise ValidationError({field: [_("Give the reason (up to 300 characters).")]})
    return text


def _require_role(actor, tenant, order, roles: set) -> Actor:
    from shared_apps.accounts import authz

    who = Actor.of(actor)
    if order.tenant_id != tenant.id or who.user is None:
        raise PermissionDenied(_("Only this unit's staff may act on its payments."))
    if not authz.roles_in(who.user, tenant) & roles:
        raise PermissionDenied(_("Only this unit's staff may act on its payments."))
    return who


def request_refund(
    order: PaymentOrder, *, actor, tenant, amount: str, reason: str, reference: str = "",
    request=None,
) -> Refund:  # fmt: skip
    """A staff member of the order's unit asks to refund a payment (a double payment, a withdrawn
    case); its department head approves it. At most what is left of that payment."""
    who = _require_role(actor, tenant, order, STAFF)
    reason = _note(reason, "reason", required=True)
    if not _AMOUNT.fullmatch(str(amount)) or Decimal(str(amount)) <= 0:
        raise ValidationError(
            {"amount": [_("Give the amount in yuan, with at most two decimals.")]}
        )
    amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        reference = reference or order.provider_reference
        if amount > queries.refundable(order, reference):
            raise ValidationError({"amount": [_("More than is left to refund of this payment.")]})
        refund = Refund.objects.create(
            order=order,
            provider_reference=reference,
            amount=amount,
            reason=reason,
            requested_by=who.user,
            requested_at=timezone.now(),
        )
        record_audit(
            actor=who,
            action="payments.request_refund",
            target=order.slip_number,
            tenant=tenant,
            data={"refund": refund.pk, "amount": f"{amount:.2f}", "reference": reference},
            request=request,
        )
    return refund


def decide_refund(
    refund: Refund, *, actor, tenant, approve: bool, note: str = "", provider=None, request=None
) -> Refund:
    """The department head approves (the refund is sent through the provider in the same
    transaction: if the provider fails, nothing is decided) or refuses it with a reason. Not the
    person who asked for it."""
    order = refund.order
    who = _require_role(actor, tenant, order, {"department_head"})
    note = _note(note, "note", required=not approve)
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        if refund.state != RefundState.REQUESTED:
            raise ValidationError(_("This refund was decided already."))
        if refund.requested_by_id == who.user.pk:
            raise PermissionDenied(_("Someone other than the person who asked approves a refund."))
        refund.decided_by, refund.decided_at, refund.decision_note = who.user, timezone.now(), note
        if approve:
            if provider is None:
                raise ValidationError(_("No payment provider is configured to send refunds."))
            try:
                refund.provider_refund_no = provider.refund(
                    slip_number=order.slip_number,
                    reference=refund.provider_reference,
                    refund_no=f"RF{refund.pk}",
                    amount=refund.amount,
                )
            except ProviderError:
                raise ValidationError(
                    _("The payment provider did not take the refund; try again later.")
                ) from None
            refund.state = RefundState.SENT
        else:
            refund.state = RefundState.REFUSED
        refund.save()
        record_audit(
            actor=who,
            action=f"payments.refund_{refund.state}",
            target=order.slip_number,
            tenant=tenant,
            data={"refund": refund.pk, "amount": f"{refund.amount:.2f}", "note": note},
            request=request,
        )
    return refund


# --- reconciliation (对账) ---------------------------------------------------------------------


def reconcile(day, *, provider, statement: str | None = None, actor=SYSTEM) -> Reconciliation:
    """Compare the provider's statement of `day` (fetched, or given) with the payments recorded
    here; every difference goes to the provincial finance queue (Mismatch). Run daily by the
    `reconcile_payments` job for the day before."""
    from shared_apps.payments import reconciliation

    done = Reconciliation.objects.filter(provider=provider.name, day=day).first()
    if done is not None:  # each day once: the job may run again
        return done
    text = statement if statement is not None else provider.statement(day)
    with transaction.atomic():
        ours = reconciliation.ours_of(day, provider.name)
        count, matched, found = reconciliation.compare(reconciliation.statement_lines(text), ours)
        run = Reconciliation.objects.create(
            provider=provider.name,
            day=day,
            ran_at=timezone.now(),
            statement_lines=count,
            matched=matched,
            mismatched=len(found),
        )
        tenants = dict(
            PaymentOrder.objects.filter(slip_number__in=[f.slip_number for f in found]).values_list(
                "slip_number", "tenant_id"
            )
        )
        Mismatch.objects.bulk_create(
            (
                Mismatch(
                    reconciliation=run,
                    kind=f.kind,
                    slip_number=f.slip_number,
                    provider_reference=f.reference,
                    ours=f.ours,
                    theirs=f.theirs,
                    tenant_id=tenants.get(f.slip_number),
                )
                for f in found
            ),
            batch_size=5000,
        )
        record_audit(
            actor=actor,
            action="payments.reconcile",
            target=f"{provider.name} {day:%Y-%m-%d}",
            data={"lines": count, "matched": matched, "mismatched": len(found)},
        )
    return run


# --- webhooks for department systems -----------------------------------------------------------


def register_webhook(*, actor, tenant, url: str, request=None) -> Webhook:
    """A department system of this unit gives the address its paid events go to; the secret
    they are signed with is made here and shown once."""
    from django.core.validators import URLValidator

    who = Actor.of(actor)
    if who.client is not None:
        if who.client.tenant_id not in (None, tenant.id):
            raise PermissionDenied(_("This client may not act for this unit."))
    elif who.user is None or not _has_staff_role(who.user, tenant):
        raise PermissionDenied(_("Only this unit's staff may act on its payments."))
    url = (url or "").strip()
    try:
        if "\x00" in url or len(url) > 300:
            raise ValidationError("")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(
            {"url": [_("Give an http or https address of up to 300 characters.")]}
        ) from None
    with transaction.atomic():
        hook = Webhook.objects.create(tenant=tenant, url=url, secret=secrets.token_hex(32))
        record_audit(
            actor=who,
            action="payments.register_webhook",
            target=url,
            tenant=tenant,
            data={"webhook": hook.pk},
            request=request,
        )
    return hook


def _has_staff_role(user, tenant) -> bool:
    from shared_apps.accounts import authz

    return bool(authz.roles_in(user, tenant) & STAFF)
