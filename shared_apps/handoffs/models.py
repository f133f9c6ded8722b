"""Hand-offs (移交) between units, in `public`: the one way a case step in one unit takes effect in
another (docs/design/handoffs.md). No code writes into another unit's schema and no query joins
two: the sending unit's case action writes a Handoff row in its own transaction, and the relay
(relay.py) applies it inside the receiving unit's schema through that unit's case actions,
marking the row applied in the same transaction. The receiving case event keeps the hand-off's id
under a unique constraint, so a row is applied at most once, whatever dies in between.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    # 多级联办: accepted at the township, decided at the county (a linked case there).
    JOINT_ACCEPT = "joint_accept", _("Accepted below, to be decided here")
    # The decision comes back to the unit that accepted (or escalated) the case, for delivery.
    JOINT_RESULT = "joint_result", _("Decision, back for delivery")
    # 上报: to the parent unit, by hand or by rule.
    ESCALATE = "escalate", _("Escalated")
    # The parent gives an escalated case back.
    RETURN = "return", _("Returned")
    # 并联审批: a department of this unit reviews another unit's case; its opinion goes back.
    PARALLEL_TASK = "parallel_task", _("Parallel review task")
    PARALLEL_OPINION = "parallel_opinion", _("Parallel review opinion")
    # Another department's refusal stopped the case: the task is no longer needed.
    PARALLEL_CANCEL = "parallel_cancel", _("Parallel review task cancelled")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Failed")


class Handoff(models.Model):
    """One hand-off of one case from one unit to another. Applied in id order per (receiving
    unit, case): a row waits while an earlier row of the same case for the same unit is not
    applied (a failed one holds the rest of that case until an operator retries it)."""

    id = models.BigAutoField(primary_key=True)
    from_tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    to_tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    # A case keeps its public id and number at every level it passes through (one case for the
    # applicant), so they name it on both sides.
    case_public_id = models.UUIDField()
    case_number = models.CharField(max_length=50)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the receiving side needs: the case as it was handed over, the clock, the reason.
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Why the last attempt failed (kept when a later attempt succeeds).
    reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("hand-off")
        verbose_name_plural = _("hand-offs")
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(status="pending"),
                name="handoffs_pending",
            ),
            models.Index(fields=["to_tenant", "case_public_id", "id"], name="handoffs_case_order"),
            models.Index(fields=["from_tenant", "case_public_id", "id"], name="handoffs_sent"),
        ]

    def __str__(self):
        return f"{self.case_number} {self.kind} → {self.to_tenant_id}"
