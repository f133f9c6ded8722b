"""Reads about cases (writes are in actions). Every query runs in the schema of the request's
unit, so a case of another unit is simply not found."""

from django.db.models import Q

from tenant_apps.cases.models import Case, ClockState, DeadlineFlag, State

# The clerks' queues (工作台): which cases each holds.
QUEUES = {
    "to_accept": Q(state=State.SUBMITTED),
    "corrections": Q(state=State.CORRECTIONS_REQUESTED),
    "to_review": Q(state__in=[State.ACCEPTED, State.UNDER_REVIEW]),
    "suspended": Q(state=State.SUSPENDED),
    "to_deliver": Q(state=State.DECIDED),
    "yellow": Q(deadline_flag=DeadlineFlag.YELLOW, clock_state=ClockState.RUNNING),
    "red": Q(deadline_flag=DeadlineFlag.RED, clock_state=ClockState.RUNNING),
    "clock_unknown": Q(clock_state=ClockState.RUNNING, due_at__isnull=True),
}


def staff_cases(*, queue: str | None = None, state: str | None = None):
    """The unit's cases (drafts are their applicants' own), oldest submission first."""
    cases = Case.objects.exclude(state=State.DRAFT)
    if queue:
        cases = cases.filter(QUEUES[queue])
    if state:
        cases = cases.filter(state=state)
    if queue in ("yellow", "red"):
        return cases.order_by("due_at", "id")
    return cases.order_by("submitted_at", "id")


def applicant_cases(user):
    """The cases a person filed or had filed for them, newest first."""
    return Case.objects.filter(applicant_id=user.pk).order_by("-created_at", "-id")


def proxy_cases(agent, citizen):
    """The cases an agent filed for this citizen."""
    return Case.objects.filter(applicant_id=citizen.pk, proxy_agent_id=agent.pk).order_by(
        "-created_at", "-id"
    )


def history(case):
    return case.events.order_by("id")


def find(public_id, *, among=None):
    """The case with this public id among `among` (default: all of the unit's), or None."""
    return (among if among is not None else Case.objects.all()).filter(public_id=public_id).first()
