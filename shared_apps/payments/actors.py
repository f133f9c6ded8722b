"""The daily payments job, loaded by the worker (govplatform.worker imports every app's `actors`)
and sent by `run_scheduler` once a day: unpaid orders past their due date are marked (and their
payers told), and the provider's statement of the day before is reconciled. Running it again the
same day does nothing more (each order is marked once, each day reconciled once)."""

import os
from datetime import timedelta

import dramatiq
from django.utils import timezone

from govplatform.jobs import configured_broker
from shared_apps.payments import actions, webhooks
from shared_apps.payments.providers import provider

PAYMENTS_QUEUE = os.environ.get("PAYMENTS_QUEUE", "default")


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=PAYMENTS_QUEUE,
    actor_name="payments_daily",
    max_retries=5,
)
def payments_daily():
    actions.mark_overdue()
    gateway = provider()
    if gateway is not None:
        actions.reconcile(timezone.localdate() - timedelta(days=1), provider=gateway)


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=PAYMENTS_QUEUE,
    actor_name="deliver_payment_webhooks",
    max_retries=3,
)
def deliver_payment_webhooks():
    """Send the paid events due (webhooks.py): each delivered once, retried with back-off."""
    webhooks.relay()
