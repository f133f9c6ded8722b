"""What the province keeps about every unit's cases (办件), in `public`: the outbox of case events
for the provincial supervision ledger, the case-number counters and the idempotency keys of the
case API.

Cases live in the schema of the unit that handles them; these tables live once in `public` so that
one relay reads one table (not 2,646 schemas), a counter is one row per implementation code (codes
are province-wide) and no tenant schema grows for them. They are written in the same transaction
as the case (one database), so an event, a number or a stored reply exists exactly when the
transition it belongs to committed.
"""

from django.db import models


class CaseEventOutbox(models.Model):
    """One event of one case for the supervision ledger (监管台账) and the notifications: a
    transition, or the deadline job marking a case yellow or red. A relay reads the unpublished
    rows in id order and sets `published_at`."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    case_number = models.CharField(max_length=50, blank=True)
    case_public_id = models.UUIDField()
    event = models.CharField(max_length=40)
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30, blank=True)
    at = models.DateTimeField()
    # The clock as the event left it: state, working days used, limit, due and yellow times.
    clock = models.JSONField(default=dict)
    # Who should be told: the applicant (a status change they must know), the responsible staff
    # (a deadline warning). The notifications app sends from these rows.
    notify_applicant = models.BooleanField(default=False)
    notify_staff = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    # For the notices (tenant_apps/cases/notices.py): whom to tell (public user ids) and what
    # (the item; the step's reason and details: corrections asked, decision, days of extension).
    applicant_id = models.BigIntegerField(null=True, blank=True)
    proxy_agent_id = models.BigIntegerField(null=True, blank=True)
    item_name = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # When the notification relay turned this row into inbox messages (once, in one transaction
    # with them); rows that tell nobody are never relayed.
    relayed_at = models.DateTimeField(null=True, blank=True)
    # For the supervision ledger (shared_apps.supervision), which sets `published_at`: the item's
    # implementation code, the handling department, the case's channel and kind of applicant.
    implementation_code = models.CharField(max_length=31, blank=True)
    department_id = models.BigIntegerField(null=True, blank=True)
    department_name = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    applicant_kind = models.CharField(max_length=12, blank=True)

    class Meta:
        verbose_name = "case event (outbox)"
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(published_at__isnull=True),
                name="ledger_outbox_unpublished",
            ),
            models.Index(fields=["tenant", "case_public_id"], name="ledger_outbox_case"),
            models.Index(
                fields=["id"],
                condition=models.Q(relayed_at__isnull=True)
                & (models.Q(notify_applicant=True) | models.Q(notify_staff=True)),
                name="ledger_outbox_unrelayed",
            ),
        ]

    def __str__(self):
        return f"{self.case_number or self.case_public_id} {self.event}"


class CaseNumberCounter(models.Model):
    """The last sequence number given to a case of one implementation on one day (办件编号)."""

    implementation_code = models.CharField(max_length=31)
    day = models.DateField()
    last = models.PositiveIntegerField()

    class Meta:
        verbose_name = "case number counter"
        constraints = [
            models.UniqueConstraint(
                fields=["implementation_code", "day"], name="one_counter_per_code_and_day"
            )
        ]

    def __str__(self):
        return f"{self.implementation_code} {self.day:%Y%m%d} {self.last}"


class IntentKey(models.Model):
    """An `Idempotency-Key` an actor sent with a case intent, and the reply it got: a retried
    request returns that reply and never applies the transition twice."""

    actor = models.CharField(max_length=60)
    key = models.CharField(max_length=100)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    # What the key was used for: a different request under the same key is refused.
    request_digest = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    reply = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "case intent key"
        constraints = [
            models.UniqueConstraint(fields=["actor", "key"], name="one_reply_per_actor_key")
        ]

    def __str__(self):
        return f"{self.actor} {self.key}"


class ApplicantCase(models.Model):
    """The public index of every case (办件) of an applicant, whichever unit handles it: one row per
    case, written by the case actions in the transaction that changed the case, so that the
    portal's "my cases" reads one table instead of every unit's schema. It repeats what the
    applicant may see in a list (number, item, state, deadline); the case itself stays in its
    unit's schema."""

    applicant_id = models.BigIntegerField()
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    case_public_id = models.UUIDField(unique=True)
    number = models.CharField(max_length=50, blank=True)
    item_name = models.CharField(max_length=200)
    state = models.CharField(max_length=30)
    deadline_flag = models.CharField(max_length=6, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "applicant's case (index)"
        indexes = [
            models.Index(
                fields=["applicant_id", "-updated_at", "-id"], name="ledger_applicant_cases"
            )
        ]

    def __str__(self):
        return self.number or str(self.case_public_id)


class DeadlineWatch(models.Model):
    """A unit with running clocks, and when its deadline job next has something to mark (the
    earliest yellow or due time not yet marked). Kept by the case actions (a clock that starts
    or resumes brings the time forward) and by the deadline job (which counts the unit's running
    clocks again and sets the next time), so `run_scheduler` sends the job only to the units
    with something to mark, not to all 2,646 every interval."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # None: nothing to mark until a clock changes.
    next_mark_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every action that moves a clock: the job sets its own figure only if nothing
    # changed while it counted (else it keeps the earlier of the two times).
    changes = models.BigIntegerField(default=0)
    # As the deadline job last counted them.
    running = models.PositiveIntegerField(default=0)
    clock_errors = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "deadline watch"
        indexes = [models.Index(fields=["next_mark_at"], name="ledger_watch_next")]

    def __str__(self):
        return f"{self.tenant_id} {self.next_mark_at}"
