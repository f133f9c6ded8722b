"""Jobs about cases, loaded by the worker (govplatform.worker imports every app's `actors`)."""

import os

import dramatiq

from govplatform.jobs import configured_broker, tenant_actor
from tenant_apps.cases import actions, notices

# Tests run their worker on a queue of their own.
NOTICES_QUEUE = os.environ.get("CASE_NOTICES_QUEUE", "default")


@tenant_actor(max_retries=3)
def mark_case_deadlines():
    """Yellow and red marking in one unit (sent for every unit by `run_scheduler`)."""
    actions.mark_deadlines(actor="system:deadlines")


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=NOTICES_QUEUE,
    actor_name="relay_case_notices",
    max_retries=3,
)
def relay_case_notices():
    """The outbox → inbox relay (notices.py), sent by `run_scheduler`; exactly once per outbox
    row however often it runs and however many run at once."""
    notices.relay()
