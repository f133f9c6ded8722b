"""The provincial supervision ledger (电子监察库), in `public`: one row per case event of every
unit, copied from the case events' outbox (shared_apps.ledger.CaseEventOutbox) by the relay
(relay.py), and the counters the relay keeps in the same transaction, so that the province's,
a city's or a county's figures are a sum over a few thousand rows, never a query over the units'
schemas (DESIGN.md §3, §6). No personal data: no applicant, no names, no reasons."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

COUNTS = ("received", "accepted", "completed", "completed_on_time", "yellow", "red", "online")


class LedgerEntry(models.Model):
    """One state change (or deadline mark) of one case, as its outbox row said."""

    outbox_id = models.BigIntegerField(unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    tenant_code = models.CharField(max_length=12)
    case_public_id = models.UUIDField()
    case_number = models.CharField(max_length=50, blank=True)
    event = models.CharField(max_length=40)
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30, blank=True)
    at = models.DateTimeField()
    implementation_code = models.CharField(max_length=31, blank=True)
    item_name = models.CharField(max_length=200, blank=True)
    department_id = models.BigIntegerField(null=True, blank=True)
    department_name = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    applicant_kind = models.CharField(max_length=12, blank=True)
    clock_state = models.CharField(max_length=20, blank=True)
    flag = models.CharField(max_length=6, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    days_used = models.IntegerField(null=True, blank=True)
    # For a decision (办结): within the time limit.
    on_time = models.BooleanField(null=True)
    ledgered_at = models.DateTimeField()

    class Meta:
        verbose_name = "supervision ledger entry"
        verbose_name_plural = "supervision ledger entries"
        indexes = [
            models.Index(fields=["tenant", "-at", "-id"], name="supervision_entry_tenant"),
            models.Index(fields=["case_public_id", "at"], name="supervision_entry_case"),
            # The cases a unit's warnings start from (oversight pages): its deadline marks.
            models.Index(
                fields=["tenant", "case_public_id"],
                name="supervision_entry_marked",
                condition=models.Q(event__in=["deadline.yellow", "deadline.red"]),
            ),
        ]

    def __str__(self):
        return f"{self.case_number or self.case_public_id} {self.event}"


class Counts(models.Model):
    received = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    completed = models.BigIntegerField(default=0)
    completed_on_time = models.BigIntegerField(default=0)
    yellow = models.BigIntegerField(default=0)
    red = models.BigIntegerField(default=0)
    # Received online (网上办件).
    online = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyCount(Counts):
    """The counts of one unit, implementation and department on one day (local time). The
    province, city and county codes of the unit are repeated so that a level's figures by item
    or department are read with an index."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    province_code = models.CharField(max_length=12)
    city_code = models.CharField(max_length=12)
    county_code = models.CharField(max_length=12)
    implementation_code = models.CharField(max_length=31)
    item_name = models.CharField(max_length=200, blank=True)
    # 0: no department known.
    department_id = models.BigIntegerField()
    department_name = models.CharField(max_length=100, blank=True)
    day = models.DateField()

    class Meta:
        verbose_name = "supervision daily count"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "implementation_code", "department_id", "day"],
                name="supervision_one_daily_count",
            )
        ]
        indexes = [
            models.Index(fields=["city_code", "day"], name="supervision_daily_city"),
            models.Index(fields=["county_code", "day"], name="supervision_daily_county"),
            models.Index(fields=["province_code", "day"], name="supervision_daily_province"),
        ]

    def __str__(self):
        return f"{self.tenant_id} {self.implementation_code} {self.day}"


class TenantCount(Counts):
    """The counts of one unit since the ledger began: what the province, city and county
    summaries add up (one row per unit, 2,646 at most)."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    province_code = models.CharField(max_length=12)
    city_code = models.CharField(max_length=12)
    county_code = models.CharField(max_length=12)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "supervision unit count"
        indexes = [
            models.Index(fields=["city_code"], name="supervision_unit_city"),
            models.Index(fields=["county_code"], name="supervision_unit_county"),
        ]

    def __str__(self):
        return str(self.tenant_id)


class SupervisionOrder(models.Model):
    """督办: a unit above tells `target` to act (on a case, or on its work at large) by a deadline;
    the target acknowledges and reports what it corrected (整改反馈), the issuer closes it or
    returns it. Each step is a `SupervisionStep`."""

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        REPORTED = "reported", _("Correction reported")
        RETURNED = "returned", _("Returned for more correction")
        CLOSED = "closed", _("Closed")

    issuing_unit = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    target_unit = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    case_public_id = models.UUIDField(null=True, blank=True)
    case_number = models.CharField(max_length=50, blank=True)
    reason = models.TextField(max_length=1000)
    required_action = models.TextField(max_length=1000)
    deadline = models.DateField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.ISSUED)
    # Set by the sweep (actions.mark_overdue_orders) once the deadline passed without a report.
    overdue = models.BooleanField(default=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # The issuing form's key: a double click or a resent form issues one order, not two.
    request_key = models.UUIDField(null=True, blank=True)

    class Meta:
        verbose_name = "supervision order"
        constraints = [
            models.UniqueConstraint(
                fields=["issued_by", "request_key"], name="supervision_order_issued_once"
            )
        ]
        indexes = [
            models.Index(fields=["target_unit", "-issued_at"], name="supervision_order_target"),
            models.Index(fields=["issuing_unit", "-issued_at"], name="supervision_order_issuer"),
            models.Index(
                fields=["deadline"],
                name="supervision_order_open",
                condition=models.Q(overdue=False, state__in=["issued", "acknowledged", "returned"]),
            ),
        ]

    def __str__(self):
        return f"督办 {self.pk} → {self.target_unit_id}"


class SupervisionStep(models.Model):
    """One step of an order: who did what when, and what they wrote."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("Issued")
        ACKNOWLEDGE = "acknowledge", _("Acknowledged")
        REPORT = "report", _("Reported the correction")
        CLOSE = "close", _("Closed")
        REOPEN = "reopen", _("Returned")

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    text = models.TextField(max_length=1000, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order_id} {self.kind}"
