"""The notification job: one message per delivery, on the platform's broker."""

import os

import dramatiq

from govplatform.jobs import configured_broker
from shared_apps.notifications.sending import attempt_delivery

# Tests run their worker on a queue of their own.
QUEUE = os.environ.get("NOTIFICATIONS_QUEUE", "notifications")


@dramatiq.actor(
    broker=configured_broker(), queue_name=QUEUE, actor_name="send_notification", max_retries=5
)
def send_delivery(delivery_id: int) -> None:
    """Send one delivery. A failure to retry schedules this job again after its wait (the
    delivery records when); dramatiq's own retries cover only errors outside the send (the
    database gone)."""
    outcome = attempt_delivery(delivery_id)
    if outcome.retry_in is not None:
        send_delivery.send_with_options(args=(delivery_id,), delay=int(outcome.retry_in * 1000))
