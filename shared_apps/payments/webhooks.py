"""Paid events to the department systems' webhooks: a JSON POST signed like the SMS gateway's
requests (`X-Timestamp`, and `X-Signature`: HMAC-SHA256 under the webhook's secret over the
timestamp, a newline and the body), tried until the system answers 2xx, with back-off (30 s,
1, 2, 4 … minutes, at most 6 hours apart; failed after MAX_ATTEMPTS, kept for an operator).

The delivery rows are written in the transaction that pays the order (actions.receive_result), so
no paid event is lost; `relay` sends the due ones, claimed with FOR UPDATE SKIP LOCKED so relays
running at once never send one twice, each in its own transaction. Run by the
`deliver_payment_webhooks` job: queued when an order is paid, and sent by `run_scheduler`.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from shared_apps.payments.models import Webhook, WebhookDelivery

MAX_ATTEMPTS = 12
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(hours=6)
BATCH = 100


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def queue_paid_event(order) -> list[int]:
    """One delivery per active webhook of the order's unit, in the caller's transaction."""
    now = timezone.now()
    payload = {
        "event": "order.paid",
        "slip_number": order.slip_number,
        "case_id": str(order.case_public_id),
        "case_number": order.case_number,
        "stage": order.stage,
        "total": f"{order.total:.2f}",
        "paid_at": order.paid_at.isoformat(),
    }
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            webhook=hook, order=order, event="order.paid", payload=payload, next_try_at=now
        )  # fmt: skip
        for hook in Webhook.objects.filter(tenant_id=order.tenant_id, is_active=True)
    )
    return [row.pk for row in rows]


def backoff(attempts: int) -> timedelta:
    return min(FIRST_DELAY * 2 ** (attempts - 1), LONGEST_DELAY)


def _send(delivery: WebhookDelivery) -> str:
    """ "" when the system took it, else what went wrong."""
    body = json.dumps(delivery.payload, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        delivery.webhook.url,
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Timestamp": timestamp,
            "X-Signature": signature(delivery.webhook.secret, timestamp, body),
            "X-Delivery": str(delivery.pk),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return "" if 200 <= response.status < 300 else f"answered {response.status}"
    except urllib.error.HTTPError as error:
        return f"answered {error.code}"
    except OSError as error:
        return str(error)[:300]


def relay(*, now=None, batch: int = BATCH) -> int:
    """Send every delivery due by `now`; how many were taken."""
    done = 0
    while True:
        with transaction.atomic():
            due = list(
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .select_related("webhook")
                .filter(
                    delivered_at__isnull=True, failed=False, next_try_at__lte=now or timezone.now()
                )
                .order_by("next_try_at", "id")[:batch]
            )
            for delivery in due:
                error = _send(delivery)
                delivery.attempts += 1
                if not error:
                    delivery.delivered_at, delivery.last_error = timezone.now(), ""
                else:
                    delivery.last_error = error
                    delivery.failed = delivery.attempts >= MAX_ATTEMPTS
                    delivery.next_try_at = timezone.now() + backoff(delivery.attempts)
                delivery.save()
        done += len(due)
        if len(due) < batch:
            return done
