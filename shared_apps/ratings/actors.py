"""The rectification deadline job, loaded by the worker (govplatform.worker imports every app's
`actors`); `run_scheduler` sends it with the case deadline jobs."""

import os

import dramatiq

from govplatform.jobs import configured_broker
from shared_apps.ratings import actions

QUEUE = os.environ.get("RATINGS_QUEUE", "default")


@dramatiq.actor(
    broker=configured_broker(),
    queue_name=QUEUE,
    actor_name="mark_rectification_deadlines",
    max_retries=3,
)
def mark_rectification_deadlines():
    """One set-based sweep over the province's open rectification steps: marking twice marks
    nothing more, so a second delivery is harmless."""
    actions.mark_rectification_deadlines()
