"""The hand-off relay job, loaded by the worker (govplatform.worker imports every app's `actors`)."""

import os

import dramatiq

from govplatform.jobs import configured_broker
from shared_apps.handoffs import relay

# Tests run their worker on a queue of their own.
HANDOFFS_QUEUE = os.environ.get("HANDOFFS_QUEUE", "default")


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=HANDOFFS_QUEUE,
    actor_name="relay_handoffs",
    max_retries=3,
)
def relay_handoffs():
    """Apply the pending hand-offs (relay.py), sent by `run_scheduler`: each row exactly once
    however often it runs, however many run at once, and whatever dies."""
    relay.relay()
