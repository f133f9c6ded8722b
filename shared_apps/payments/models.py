"""Unified public payment (统一公共支付), in `public`: one payment system for every unit.

A case's fees become a payment order (缴款单) with its own slip number; the applicant pays it
through a provider (providers.py), whose signed notification marks it paid exactly once. The case
lives in its unit's schema: an order keeps the case's public id and number, not a foreign key.
Money is Decimal with two places, never a float (DESIGN §5).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 12, "decimal_places": 2}


class OrderState(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentOrder(models.Model):
    """A payment order (缴款单) for the fees of one case at one stage."""

    # 缴款码: up to 50 characters (DESIGN §5); unit code + date + random digits, no check digit.
    slip_number = models.CharField(_("payment slip number"), max_length=50, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    department_id = models.BigIntegerField()
    department_name = models.CharField(_("department"), max_length=100)
    case_public_id = models.UUIDField()
    case_number = models.CharField(_("case number"), max_length=50)
    item_name = models.CharField(_("item"), max_length=200)
    stage = models.CharField(max_length=10)  # catalog GuideFee.Stage
    case_waits = models.BooleanField(default=False)
    payer = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("payer")
    )
    total = models.DecimalField(_("amount"), **MONEY)
    due_date = models.DateField(_("pay by"))
    state = models.CharField(max_length=10, choices=OrderState.choices, default=OrderState.PENDING)
    # Past its due date unpaid (marked by mark_overdue, which also tells the applicant).
    overdue = models.BooleanField(default=False)
    provider = models.CharField(max_length=20, blank=True)
    # The provider's transaction number of the payment that paid it.
    provider_reference = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        constraints = [
            # Creating an order again for the same case and stage finds the first (idempotent).
            models.UniqueConstraint(
                fields=["case_public_id", "stage"],
                condition=~models.Q(state="cancelled"),
                name="payments_one_live_order_per_stage",
            ),
            models.CheckConstraint(condition=models.Q(total__gt=0), name="payments_total_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "case_public_id"], name="payments_case"),
            models.Index(
                fields=["due_date"], condition=models.Q(state="pending"), name="payments_unpaid"
            ),
        ]

    def __str__(self):
        return self.slip_number


class OrderItem(models.Model):
    """One fee of the guide on an order, with its amount as computed (or waived, at 0)."""

    order = models.ForeignKey(PaymentOrder, on_delete=models.CASCADE, related_name="items")
    fee = models.ForeignKey("catalog.GuideFee", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    legal_basis = models.CharField(max_length=300)
    amount = models.DecimalField(**MONEY)
    waiver_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} {self.amount}"


class Outcome(models.TextChoices):
    PAID = "paid", _("Paid the order")
    DUPLICATE = "duplicate", _("Duplicate of the payment recorded")
    DOUBLE_PAYMENT = "double_payment", _("A second payment of a paid order")
    WRONG_AMOUNT = "wrong_amount", _("Amount differs from the order")
    UNKNOWN_ORDER = "unknown_order", _("No such order")
    BAD_SIGNATURE = "bad_signature", _("Signature not valid")


class Notification(models.Model):
    """Every payment result the provider sent (notification or signed return), as received and
    as judged. One row per order can be `paid`: the database holds the order paid once."""

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=20)
    order = models.ForeignKey(
        PaymentOrder, null=True, on_delete=models.PROTECT, related_name="notifications"
    )
    slip_number = models.CharField(max_length=50)
    provider_reference = models.CharField(max_length=64)
    amount = models.DecimalField(null=True, **MONEY)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    via = models.CharField(max_length=10)  # notify | return
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(outcome="paid"), name="payments_paid_once"
            )
        ]
        indexes = [models.Index(fields=["order", "id"], name="payments_notification_order")]

    def __str__(self):
        return f"{self.slip_number} {self.outcome}"


class RefundState(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    REFUSED = "refused", _("Refund refused")
    SENT = "sent", _("Refunded")


class Refund(models.Model):
    """A refund (退款) of one payment of an order — a double payment, a withdrawn case: asked by
    the unit's staff, approved (or refused) by its department head, sent through the provider."""

    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="refunds")
    # The provider's transaction refunded: the order's payment or a second payment of it.
    provider_reference = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300)
    state = models.CharField(
        max_length=10, choices=RefundState.choices, default=RefundState.REQUESTED
    )
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True)
    decision_note = models.CharField(max_length=300, blank=True)
    # The provider's number for the refund, once sent.
    provider_refund_no = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payments_refund_positive"
            )
        ]

    def __str__(self):
        return f"{self.order} −{self.amount}"


class MismatchKind(models.TextChoices):
    MISSING_OURS = "missing_ours", _("In the provider's statement, not recorded here")
    MISSING_THEIRS = "missing_theirs", _("Recorded here, not in the provider's statement")
    AMOUNT_DIFFERS = "amount_differs", _("Amounts differ")


class Reconciliation(models.Model):
    """One comparison of the provider's statement of a day with the payments recorded here."""

    provider = models.CharField(max_length=20)
    day = models.DateField()
    ran_at = models.DateTimeField()
    statement_lines = models.PositiveIntegerField()
    matched = models.PositiveIntegerField()
    mismatched = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "day"], name="payments_reconciled_once")
        ]

    def __str__(self):
        return f"{self.provider} {self.day}"


class Mismatch(models.Model):
    """A difference reconciliation found: the provincial finance queue (对账差错)."""

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="mismatches"
    )
    kind = models.CharField(max_length=20, choices=MismatchKind.choices)
    slip_number = models.CharField(max_length=50)
    provider_reference = models.CharField(max_length=64)
    ours = models.DecimalField(null=True, **MONEY)
    theirs = models.DecimalField(null=True, **MONEY)
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["resolved", "id"], name="payments_finance_queue"),
        ]

    def __str__(self):
        return f"{self.kind} {self.slip_number}"


class Webhook(models.Model):
    """A department system's address for the paid events of its unit's orders, with the secret
    their signature is made with (shared with that system, like a gateway key)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=300)
    secret = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event for one webhook, tried until the system answers 2xx, with back-off."""

    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    order = models.ForeignKey(PaymentOrder, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20)
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True)
    failed = models.BooleanField(default=False)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "order", "event"], name="payments_one_delivery_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(delivered_at__isnull=True, failed=False),
                name="payments_webhooks_due",
            )
        ]

    def __str__(self):
        return f"{self.event} {self.order_id} → {self.webhook_id}"
