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
