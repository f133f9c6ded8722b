"""Cases (办件) in the schema of the unit that implements the item: one row per application with
its state, form data, materials, legal clock and decision, and its history (CaseEvent).

People (applicant, agent, staff) and the implementation live in `public`; a case keeps their ids
(and the codes and names it was filed under) rather than foreign keys across schemas.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from govplatform.uploads import StoredFileFields


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    CORRECTIONS_REQUESTED = "corrections_requested", _("Corrections requested")
    UNDER_REVIEW = "under_review", _("Under review")
    SUSPENDED = "suspended", _("Suspended")
    DECIDED = "decided", _("Decided")
    DELIVERED = "delivered", _("Result delivered")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Passed to another unit (to the one deciding it, or escalated, or returned): this unit waits
    # for the hand-off back (shared_apps.handoffs).
    FORWARDED = "forwarded", _("With another unit")
    # 并联审批: the departments of the item's parallel review give their opinions (ParallelTask);
    # the case moves on to the lead department's decision when all are in.
    PARALLEL_REVIEW = "parallel_review", _("In parallel review")


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    WINDOW = "window", _("Hall window")
    PROXY = "proxy", _("Proxy filing")
    SYSTEM = "system", _("Department system")


class ClockState(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")


class DeadlineFlag(models.TextChoices):
    NONE = "", _("In time")
    YELLOW = "yellow", _("Yellow (most of the time used)")
    RED = "red", _("Red (overdue)")


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class Delivery(models.TextChoices):
    ELECTRONIC = "electronic", _("Electronic")
    PICKUP = "pickup", _("Pickup at the window")
    POST = "post", _("Post")


class Case(models.Model):
    """An application for one implemented item (办件)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Implementation code + yyyymmdd + sequence, given at submission; drafts have none.
    number = models.CharField(_("case number"), max_length=50, null=True, blank=True, unique=True)
    implementation_id = models.BigIntegerField()
    implementation_code = models.CharField(max_length=31)
    item_name = models.CharField(_("item"), max_length=200)
    guide_version_id = models.BigIntegerField()
    department_id = models.BigIntegerField()
    department_name = models.CharField(_("department"), max_length=100)
    statutory_days = models.PositiveIntegerField()
    promised_days = models.PositiveIntegerField()

    applicant_id = models.BigIntegerField()
    organisation_id = models.BigIntegerField(null=True, blank=True)
    proxy_agent_id = models.BigIntegerField(null=True, blank=True)
    proxy_consent_id = models.BigIntegerField(null=True, blank=True)
    filed_by_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)

    state = models.CharField(max_length=24, choices=State.choices, default=State.DRAFT)
    # Where resubmitting corrections or resuming returns to.
    return_state = models.CharField(max_length=24, choices=State.choices, blank=True)
    form_data = models.JSONField(default=dict, blank=True)
    # Per guide material: {"material_id", "kind": upload|form_section|reused, and "file_id" +
    # "sha256", "section" or "result_case_number"}.
    materials = models.JSONField(default=list, blank=True)
    # What the applicant was last asked to correct or supply, all at once (一次性告知).
    corrections = models.JSONField(default=list, blank=True)

    # The legal clock (clock.py): working days used before the current run, the day the current
    # run began, the extension, and the absolute times the deadline job compares with now.
    clock_state = models.CharField(
        max_length=12, choices=ClockState.choices, default=ClockState.NOT_STARTED
    )
    clock_running_since = models.DateField(null=True, blank=True)
    clock_days_used = models.PositiveIntegerField(default=0)
    extension_days = models.PositiveIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    statutory_due_at = models.DateTimeField(null=True, blank=True)
    yellow_at = models.DateTimeField(null=True, blank=True)
    # The official calendar does not cover a day the clock needs: due times unknown until it does.
    clock_error = models.CharField(max_length=200, blank=True)
    deadline_flag = models.CharField(
        max_length=6, choices=DeadlineFlag.choices, default=DeadlineFlag.NONE, blank=True
    )

    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_reasons = models.TextField(blank=True)
    decision_legal_basis = models.TextField(blank=True)
    delivery_method = models.CharField(max_length=10, choices=Delivery.choices, blank=True)
    delivery_details = models.CharField(max_length=300, blank=True)

    # Across levels (shared_apps.handoffs): the unit (public tenant id) this case was handed over
    # from, and as what (joint_accept, escalate): its result goes back there, and only a case
    # received by escalation can be returned. The case keeps its public id and number at every
    # level, so the applicant sees one case.
    received_from_id = models.BigIntegerField(null=True, blank=True)
    received_as = models.CharField(max_length=20, blank=True)
    # The unit this case is with while it is `forwarded`.
    passed_to_id = models.BigIntegerField(null=True, blank=True)
    # 一件事一次办: the number the applicant got for the bundle (catalog.Bundle) this case is one
    # item of; each item keeps its own case, number and clock.
    bundle_number = models.CharField(_("bundle number"), max_length=50, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # The clerks' queues: one state, oldest first; the applicant's list, newest first.
            models.Index(fields=["state", "submitted_at", "id"], name="cases_queue"),
            models.Index(fields=["applicant_id", "-created_at"], name="cases_applicant"),
            # Yellow and red queues, and the deadline job's set-based UPDATE over running clocks.
            models.Index(
                fields=["deadline_flag", "due_at"],
                condition=~models.Q(deadline_flag=""),
                name="cases_flagged",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(clock_state="running"),
                name="cases_running_clock",
            ),
            models.Index(
                fields=["bundle_number"], condition=~models.Q(bundle_number=""), name="cases_bundle"
            ),
        ]

    def __str__(self):
        return self.number or str(self.public_id)


class CaseEvent(models.Model):
    """One step in a case's history: who, when, why, from which channel, from → to."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    intent = models.CharField(max_length=30)
    from_state = models.CharField(max_length=24, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=24, choices=State.choices)
    # The person (public user id) or system client acting, as the audit log names them.
    actor = models.CharField(max_length=150)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    on_behalf_of_id = models.BigIntegerField(null=True, blank=True)
    role = models.CharField(max_length=20)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The hand-off (shared_apps.handoffs.Handoff id) this step applied: each is applied once.
    handoff_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["case", "id"]
        indexes = [models.Index(fields=["case", "id"], name="cases_event_history")]
        constraints = [
            models.UniqueConstraint(
                fields=["handoff_id"],
                condition=models.Q(handoff_id__isnull=False),
                name="cases_event_one_per_handoff",
            )
        ]

    def __str__(self):
        return f"{self.case} {self.intent} {self.from_state}→{self.to_state}"


class CaseFile(StoredFileFields):
    """A file the applicant (or their proxy agent, or a window clerk) uploaded as one guide
    material of a case, stored through govplatform.uploads. The case's `materials` name it by its
    public id; who may read it follows from the case."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="files")
    # The guide material (GuideMaterial id in `public`) the file is given for.
    material_id = models.BigIntegerField()
    uploaded_by_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case file")
        verbose_name_plural = _("case files")
        indexes = [models.Index(fields=["case", "material_id"], name="cases_file_material")]

    def __str__(self):
        return self.original_name


class TaskState(models.TextChoices):
    PENDING = "pending", _("Pending")
    # A department's opinion (会签意见), not the decision: 同意 / 不同意.
    APPROVED = "approved", _("Agreed")
    REFUSED = "refused", _("Disagreed")
    # Another department's refusal ended the case first (stop at the first refusal).
    CANCELLED = "cancelled", _("Cancelled")


class ParallelTask(models.Model):
    """One department's part of a parallel approval (并联审批任务): its opinion, on its own clock.

    In the unit that accepted the case there is a row per department, with `case`. A department
    of another unit (`unit_id`) gets its own row in that unit's schema by hand-off (no `case`
    there; `requested_by_id` is the accepting unit, with the form it reviews), and its opinion
    comes back by hand-off to complete the accepting unit's row."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    case_public_id = models.UUIDField()
    case_number = models.CharField(_("case number"), max_length=50)
    item_name = models.CharField(_("item"), max_length=200)
    # The unit (public tenant id) and department whose opinion this is.
    unit_id = models.BigIntegerField()
    department_id = models.BigIntegerField()
    department_name = models.CharField(_("department"), max_length=100)
    # On a task received from another unit: that unit, and the application as it was accepted.
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    form_data = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=TaskState.choices, default=TaskState.PENDING)
    # The catalog's rule when the task was made (catalog.ParallelRule): it may change later.
    rule = models.CharField(max_length=20)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    opinion = models.TextField(_("opinion"), blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The hand-off that created this row (received) or brought its opinion (sent): each once.
    handoff_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("parallel task")
        verbose_name_plural = _("parallel tasks")
        indexes = [
            # A department's queue: its open tasks, most urgent first.
            models.Index(
                fields=["department_id", "due_at"],
                condition=models.Q(state="pending"),
                name="cases_task_queue",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["handoff_id"],
                condition=models.Q(handoff_id__isnull=False),
                name="cases_task_one_per_handoff",
            )
        ]

    def __str__(self):
        return f"{self.case_number} {self.department_name} {self.state}"
