"""Jobs about cases, loaded by the worker (govplatform.worker imports every app's `actors`)."""

from govplatform.jobs import tenant_actor
from tenant_apps.cases import actions


@tenant_actor(max_retries=3)
def mark_case_deadlines():
    """Yellow and red marking in one unit (sent for every unit by `run_scheduler`)."""
    actions.mark_deadlines(actor="system:deadlines")
