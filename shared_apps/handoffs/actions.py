"""Operators' writes to the hand-off queue. Hand-offs themselves are written by the case actions
(queue.send, in the step's transaction) and applied by the relay."""

from django.core.exceptions import PermissionDenied
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
