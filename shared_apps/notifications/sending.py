"""Sending one delivery: claim it, send it through its channel, record the result.

The claim is a conditional UPDATE (pending and due, or claimed by a worker that has since gone
silent for longer than any send can take): of two workers holding the same message (the broker
delivered it again), one sends, the other finds it taken or done. A send that fails is tried
again after RETRY_AFTER_S (bounded); one that can't succeed (an address refused, a channel not
configured) fails at once. The send happens outside any transaction: nothing here holds a lock
while a server answers. A worker killed between the send and recording it leaves the delivery
claimed; it is sent again once the claim expires (at least once, never lost)."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone, translation

from shared_apps.notifications.channels import CHANNELS, ChannelError
from shared_apps.notifications.kinds import render
from shared_apps.notifications.models import Delivery

logger = logging.getLogger(__name__)

# Seconds to wait after each failed attempt; one more attempt after the last wait, then failed.
RETRY_AFTER_S = (5, 30, 120, 600, 1800)
MAX_ATTEMPTS = len(RETRY_AFTER_S) + 1
# Longer than any send can take (SMTP EMAIL_TIMEOUT, the gateway's 10 s): a claim older than
# this belongs to a worker that died.
CLAIM_TIMEOUT = timedelta(minutes=2)
# A delayed message may arrive a little before its time.
EARLY = timedelta(seconds=2)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent, retry, failed, busy (another worker holds it), skipped (done or not due)
    retry_in: float | None = None


def portal_url(link: str) -> str:
    if not link.startswith("/"):
        return link
    scheme = "https" if settings.SECURE_COOKIES else "http"
    return f"{scheme}://{settings.BASE_DOMAIN}{link}"


def compose(delivery: Delivery) -> tuple[str, str]:
    """(subject, text) of a delivery, in the platform's language (Chinese)."""
    message = delivery.message
    with translation.override(settings.LANGUAGE_CODE):
        subject = render(message.kind, "title", message.context)
        if delivery.channel == Delivery.Channel.SMS:
            return subject, render(message.kind, "sms", message.context)
        text = render(message.kind, "body", message.context)
        if message.link:
            text += "\n\n" + portal_url(message.link)
    return subject, text


def attempt_delivery(delivery_id: int) -> Outcome:
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id)
        .filter(
            Q(status=Delivery.Status.PENDING, next_try_at__lte=now + EARLY)
            | Q(status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        .update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        current = Delivery.objects.filter(pk=delivery_id).first()
        if current is not None and current.status == Delivery.Status.SENDING:
            # Another worker sends it now; look again when its claim would have expired.
            wait = (current.claimed_at + CLAIM_TIMEOUT - now).total_seconds()
            return Outcome("busy", retry_in=max(wait, 0) + 1)
        # Sent, failed for good, deleted, or waiting for the job that its retry queued.
        return Outcome("skipped")
    delivery = Delivery.objects.select_related("message").get(pk=delivery_id)
    subject, text = compose(delivery)
    done = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING, claimed_at=now)
    try:
        provider_id = CHANNELS[delivery.channel].send(
            address=delivery.address, subject=subject, text=text, reference=str(delivery.pk)
        )
    except Exception as error:
        if not isinstance(error, ChannelError):
            logger.exception("Delivery %s: unexpected error while sending", delivery_id)
        reason = str(error)[:500]
        permanent = getattr(error, "permanent", False)
        if permanent or delivery.attempts >= MAX_ATTEMPTS:
            done.update(status=Delivery.Status.FAILED, last_error=reason, next_try_at=None)
            logger.error(
                "Delivery %s (%s) failed after %d attempts: %s",
                delivery_id,
                delivery.channel,
                delivery.attempts,
                reason,
            )
            return Outcome("failed")
        wait = RETRY_AFTER_S[delivery.attempts - 1]
        done.update(
            status=Delivery.Status.PENDING,
            last_error=reason,
            next_try_at=now + timedelta(seconds=wait),
        )
        logger.warning(
            "Delivery %s (%s) attempt %d failed, next in %d s: %s",
            delivery_id,
            delivery.channel,
            delivery.attempts,
            wait,
            reason,
        )
        return Outcome("retry", retry_in=wait)
    done.update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id,
        last_error="",
        next_try_at=None,
    )
    return Outcome("sent")


def overdue_deliveries():
    """Deliveries whose job was lost (a broker down when they were queued, a retry message
    dropped): pending well past their time, or claimed by a worker that died."""
    now = timezone.now()
    return Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING, next_try_at__lte=now - timedelta(minutes=1))
        | Q(status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
    )
