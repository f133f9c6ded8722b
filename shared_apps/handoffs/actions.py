"""Operators' writes to the hand-off queue. Hand-offs themselves are written by the case actions
(queue.send, in the step's transaction) and applied by the relay."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from shared_apps.audit.actions import Actor, record_audit
from shared_apps.handoffs.models import Handoff, Status


def retry(handoff: Handoff, *, actor, request=None) -> Handoff:
    """A provincial administrator sends a failed hand-off round again (after fixing its cause):
    it becomes pending with its attempts counted afresh, and the later hand-offs of its case
    follow it."""
    who = Actor.of(actor)
    if who.user is None or not who.user.is_superuser:
        raise PermissionDenied(_("Only a provincial administrator retries a hand-off."))
    with transaction.atomic():
        locked = Handoff.objects.select_for_update().get(pk=handoff.pk)
        if locked.status != Status.FAILED:
            raise PermissionDenied(_("Only a failed hand-off can be retried."))
        locked.status, locked.attempts = Status.PENDING, 0
        locked.save(update_fields=["status", "attempts"])
        record_audit(
            actor=who,
            action="handoffs.retry",
            target=str(locked.pk),
            data={"kind": locked.kind, "case": locked.case_number, "reason": locked.reason[:500]},
            request=request,
        )
    return locked


def set_decided_by(implementation, *, decided_by, actor, request=None):
    """多级联办 (收受分离): this unit accepts the item and `decided_by` (an ancestor unit that
    publishes the same item) decides it; None: this unit decides. By the unit's administrator."""
    from shared_apps.accounts.authz import ancestor_codes, has_role
    from shared_apps.accounts.models import Role
    from shared_apps.catalog.models import Implementation

    who = Actor.of(actor)
    unit = implementation.tenant
    if who.user is None or not has_role(who.user, unit, Role.TENANT_ADMIN):
        raise PermissionDenied(_("You do not administer this unit."))
    if decided_by is not None:
        if decided_by.code not in ancestor_codes(unit.code):
            raise ValidationError(
                {"decided_by": [_("Only a unit above this one can decide its items.")]}
            )
        if not Implementation.objects.filter(
            tenant=decided_by,
            item_id=implementation.item_id,
            status=Implementation.Status.PUBLISHED,
        ).exists():
            raise ValidationError(
                {"decided_by": [_("%(unit)s does not publish this item.") % {"unit": decided_by}]}
            )
    with transaction.atomic():
        Implementation.objects.filter(pk=implementation.pk).update(decided_by=decided_by)
        implementation.decided_by = decided_by
        record_audit(
            actor=who,
            action="handoffs.set_decided_by",
            target=implementation.code,
            tenant=unit,
            data={"decided_by": decided_by.code if decided_by else ""},
            request=request,
        )
    return implementation
