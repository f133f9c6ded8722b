"""The escalation job, loaded by the worker; `run_scheduler` sends it with each deadline round."""

import os

import dramatiq

from govplatform.jobs import configured_broker
from shared_apps.consultations import actions

QUEUE = os.environ.get("CONSULTATIONS_QUEUE", "default")


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=QUEUE,
    actor_name="escalate_overdue_consultations",
    max_retries=3,
)
def escalate_overdue_consultations():
    """Moves only what is overdue now: a second delivery finds nothing more to move."""
    actions.escalate_overdue()
