"""Writes of supervision orders (督办): issue, acknowledge, report (整改反馈), close, reopen, and
the sweep that marks orders overdue. Each in one transaction with one audit entry (in the
target unit's chain), the target's people told through their inbox once it commits.

Who: an administrator or supervisor of a unit above the target issues, and the issuing unit's
people close or return the order; the target unit's own administrators and supervisors (a role
held in that unit itself) acknowledge and report. The target never closes its own order."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.authz import ancestor_codes
from shared_apps.audit.actions import Actor, record_audit
from shared_apps.notifications.inbox import notify
from shared_apps.supervision import queries
from shared_apps.supervision.models import SupervisionOrder, SupervisionStep
from tenants.models import Tenant

Order = SupervisionOrder
MAX_TEXT = 1000
OPEN = (Order.State.ISSUED, Order.State.ACKNOWLEDGED, Order.State.RETURNED)
# From which states each reply moves the order, and to which.
MOVES = {
    SupervisionStep.Kind.ACKNOWLEDGE: ((Order.State.ISSUED,), Order.State.ACKNOWLEDGED),
    SupervisionStep.Kind.REPORT: (
        (Order.State.ISSUED, Order.State.ACKNOWLEDGED, Order.State.RETURNED),
        Order.State.REPORTED,
    ),
    SupervisionStep.Kind.CLOSE: ((Order.State.REPORTED,), Order.State.CLOSED),
    SupervisionStep.Kind.REOPEN: ((Order.State.REPORTED, Order.State.CLOSED), Order.State.RETURNED),
}


def _text(value: str, field: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationError({field: [_("The text contains a NUL character.")]})
    if len(value) > MAX_TEXT:
        raise ValidationError({field: [_("At most %(count)d characters.") % {"count": MAX_TEXT}]})
    if required and not value:
        raise ValidationError({field: [_("This field is required.")]})
    return value


def _tell_target(order: Order, *, actor, kind: str) -> None:
    """The target unit's administrators and supervisors (their own roles there)."""
    link = f"/oversight/orders/{order.pk}"
    for user in queries.order_people(order.target_unit):
        notify(
            user,
            kind,
            {
                "unit": order.issuing_unit.name,
                "target": order.target_unit.name,
                "deadline": order.deadline.isoformat(),
                "reason": order.reason,
            },
            actor=actor,
            link=link,
            tenant=order.target_unit,
        )


def issue_order(
    *,
    actor,
    issuing_unit: Tenant,
    target_unit: Tenant,
    reason: str,
    required_action: str,
    deadline: date,
    case_public_id=None,
    request_key=None,
    request=None,
) -> Order:
    """督办: `issuing_unit`'s administrator or supervisor orders `target_unit` (a unit below it) to
    act by `deadline`, about one of its cases (from the ledger) or its work at large. The same
    `request_key` again (a double click, a resent form) returns the order already issued."""
    who = Actor.of(actor)
    if who.user is None or not queries.overseeable(who.user, issuing_unit):
        raise PermissionDenied(_("You do not oversee this unit."))
    if issuing_unit.code not in ancestor_codes(target_unit.code):
        raise PermissionDenied(_("Supervision orders go to a unit below the issuing unit."))
    reason = _text(reason, "reason")
    required_action = _text(required_action, "required_action")
    if deadline < timezone.localdate() or (deadline - timezone.localdate()).days > 366:
        raise ValidationError({"deadline": [_("The deadline must be within the coming year.")]})
    case_number = ""
    if case_public_id is not None:
        entry = queries.latest_entry(case_public_id)
        if entry is None or entry.tenant_id != target_unit.pk:
            raise ValidationError({"case": [_("No such case in this unit's ledger.")]})
        case_number = entry.case_number
    done = Order.objects.filter(issued_by=who.user, request_key=request_key)
    if request_key is not None and done.exists():
        return done.get()
    now = timezone.now()
    with transaction.atomic():
        try:
            # A second request with the key waits here for the first one's transaction.
            with transaction.atomic():
                order = Order.objects.create(
                    issuing_unit=issuing_unit,
                    target_unit=target_unit,
                    case_public_id=case_public_id,
                    case_number=case_number,
                    reason=reason,
                    required_action=required_action,
                    deadline=deadline,
                    issued_by=who.user,
                    issued_at=now,
                    updated_at=now,
                    request_key=request_key,
                )
        except IntegrityError:
            return done.get()
        SupervisionStep.objects.create(
            order=order,
            kind=SupervisionStep.Kind.ISSUE,
            by=who.user,
            unit=issuing_unit,
            at=now,
            text=required_action,
        )
        record_audit(
            actor=who,
            action="supervision.order_issued",
            target=str(order.pk),
            tenant=target_unit,
            data={
                "issuing_unit": issuing_unit.code,
                "case": case_number,
                "deadline": deadline.isoformat(),
            },
            request=request,
        )
        _tell_target(order, actor=who, kind="supervision_order_issued")
    return order


def _step(order: Order, kind: str, *, actor, text: str, request) -> Order:
    who = Actor.of(actor)
    user = who.user
    if kind in (SupervisionStep.Kind.ACKNOWLEDGE, SupervisionStep.Kind.REPORT):
        allowed, unit = user is not None and queries.answers(user, order), order.target_unit
    else:
        allowed, unit = user is not None and queries.closes(user, order), order.issuing_unit
    if not allowed:
        raise PermissionDenied(_("You may not take this step on this supervision order."))
    text = _text(text, "text", required=kind != SupervisionStep.Kind.ACKNOWLEDGE)
    sources, to_state = MOVES[kind]
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",))
            .select_related("issuing_unit", "target_unit")
            .get(pk=order.pk)
        )
        if locked.state not in sources:
            raise PermissionDenied(
                _("This supervision order is %(state)s: that step is not possible.")
                % {"state": locked.get_state_display()}
            )
        locked.state, locked.updated_at = to_state, now
        fields = ["state", "updated_at"]
        if kind == SupervisionStep.Kind.REOPEN:
            # Open again: overdue at once if its deadline has passed.
            locked.overdue = locked.deadline < timezone.localdate()
            fields.append("overdue")
        locked.save(update_fields=fields)
        SupervisionStep.objects.create(
            order=locked, kind=kind, by=user, unit=unit, at=now, text=text
        )
        record_audit(
            actor=who,
            action=f"supervision.order_{kind}",
            target=str(locked.pk),
            tenant=locked.target_unit,
            data={"state": to_state},
            request=request,
        )
        if kind == SupervisionStep.Kind.REOPEN:
            _tell_target(locked, actor=who, kind="supervision_order_returned")
    return locked


def acknowledge_order(order: Order, *, actor, text: str = "", request=None) -> Order:
    """The target unit takes note of the order (签收)."""
    return _step(order, SupervisionStep.Kind.ACKNOWLEDGE, actor=actor, text=text, request=request)


def report_order(order: Order, *, actor, text: str, request=None) -> Order:
    """整改反馈: the target unit reports what it corrected."""
    return _step(order, SupervisionStep.Kind.REPORT, actor=actor, text=text, request=request)


def close_order(order: Order, *, actor, text: str, request=None) -> Order:
    """The issuing unit accepts the report (办结)."""
    return _step(order, SupervisionStep.Kind.CLOSE, actor=actor, text=text, request=request)


def reopen_order(order: Order, *, actor, text: str, request=None) -> Order:
    """The issuing unit returns the order: the correction is not enough (退回重新整改)."""
    return _step(order, SupervisionStep.Kind.REOPEN, actor=actor, text=text, request=request)


def mark_overdue_orders(*, actor="system:supervision", at: datetime | None = None) -> int:
    """Mark the open orders whose deadline passed, in one conditional UPDATE (two sweeps at once
    mark each order once); audited only when an order was marked, as the deadline job is."""
    at = at or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Order._meta.db_table} SET overdue = true, updated_at = %s"
            " WHERE NOT overdue AND state = ANY(%s) AND deadline < %s RETURNING id",
            [at, [str(state) for state in OPEN], timezone.localdate(at)],
        )
        marked = sorted(row[0] for row in cursor.fetchall())
        if marked:
            record_audit(
                actor=actor,
                action="supervision.orders_overdue",
                data={"count": len(marked), "orders": marked[:100]},
            )
    return len(marked)
