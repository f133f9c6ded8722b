"""A person's inbox (站内消息) and the SMS and e-mail sent for each message, in `public`: one
inbox per person for the whole province, whichever unit a message is about."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shared_apps.notifications.kinds import render


class Message(models.Model):
    """One message in a person's inbox. Its text is rendered from its kind's template and its
    context when shown or sent, so each reader sees it in their language."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=40)
    context = models.JSONField(default=dict)
    # A path on the portal ("/accounts/me") or a full address on a unit's subdomain.
    link = models.CharField(max_length=500, blank=True)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who caused it (an audit actor label): the action that did is in the audit log.
    sent_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="inbox_by_user"),
            models.Index(
                fields=["user"], condition=models.Q(read_at__isnull=True), name="inbox_unread"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.kind}"

    @property
    def title(self) -> str:
        return render(self.kind, "title", self.context)

    @property
    def body(self) -> str:
        return render(self.kind, "body", self.context)


class Delivery(models.Model):
    """A message sent through one channel: its state, its attempts and why the last one failed.
    A worker claims a pending delivery with a conditional UPDATE before sending, so one delivered
    twice by the broker is sent once."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # The address at the time of sending: a later change of phone doesn't redirect old messages.
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    next_try_at = models.DateTimeField(_("next try"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # The SMS gateway's id of the message, or the e-mail's Message-ID.
    provider_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="one_delivery_per_channel")
        ]
        indexes = [
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="deliveries_due",
            )
        ]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.address} ({self.get_status_display()})"
