"""The supervision relay job, loaded by the worker (govplatform.worker imports every app's
`actors`)."""

import os

import dramatiq

from govplatform.jobs import configured_broker
from shared_apps.supervision import relay

# Tests run their worker on a queue of their own.
QUEUE = os.environ.get("SUPERVISION_QUEUE", "default")


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=QUEUE,
    actor_name="relay_supervision_ledger",
    max_retries=3,
)
def relay_supervision_ledger(batch: int = relay.BATCH, follow: bool = True):
    """The outbox → supervision ledger relay (relay.py), sent by `run_scheduler`: exactly once per
    outbox row however often it runs and however many run at once. It keeps following the outbox
    until the scheduler's next round (relay.follow)."""
    batch = max(1, min(int(batch), 10_000))
    if follow:
        relay.follow(batch=batch)
    else:
        relay.relay(batch=batch)


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=QUEUE,
    actor_name="mark_overdue_supervision_orders",
    max_retries=3,
)
def mark_overdue_supervision_orders():
    """Mark the supervision orders (督办) past their deadline overdue; sent with the relay."""
    from shared_apps.supervision import actions

    actions.mark_overdue_orders()
