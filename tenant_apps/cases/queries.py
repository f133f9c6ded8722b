"""Reads about cases (writes are in actions). Every query runs in the schema of the request's
unit, so a case of another unit is simply not found."""

import re

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q

from shared_apps.accounts.identity import id_number_digests, normalize_id_number
from shared_apps.accounts.models import User
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


# --- the staff workbench (工作台) ----------------------------------------------------------------

# The workbench's queues, in the order of its side menu. "to_decide" holds the cases an approver
# can decide now, as the transition table allows `decide`: those under review, and same-day items
# (即办件, promised 0 days) straight after acceptance. A case under review is in both "to_review"
# (the reviewer may still ask for corrections or suspend it) and "to_decide". Yellow and red hold
# running clocks only (a paused case keeps its flag but nobody can work against its time).
WORKBENCH_QUEUES = {
    "to_accept": Q(state=State.SUBMITTED),
    "to_review": Q(state__in=[State.ACCEPTED, State.UNDER_REVIEW]),
    "to_decide": Q(state=State.UNDER_REVIEW) | Q(state=State.ACCEPTED, promised_days=0),
    "to_deliver": Q(state=State.DECIDED),
    # 并联审批: with the departments (ParallelTask); the lead department follows them here.
    "parallel": Q(state=State.PARALLEL_REVIEW),
    "yellow": QUEUES["yellow"],
    "red": QUEUES["red"],
}
ALL = "all"
# The rows that can be in a counted queue: open states (the cases_queue index) or a flag (the
# partial cases_flagged index), so counting never reads the unit's closed cases.
_COUNTED = Q(
    state__in=[
        State.SUBMITTED,
        State.ACCEPTED,
        State.UNDER_REVIEW,
        State.PARALLEL_REVIEW,
        State.DECIDED,
    ]
) | Q(deadline_flag__in=[DeadlineFlag.YELLOW, DeadlineFlag.RED])
SEARCH_MAX = 50


# Counting a county's open cases reads tens of thousands of index entries (about 200 ms at
# 80,000 open cases): the side menu's counts are kept in the cache for at most this long, and
# forgotten by every step that moves a case (forget_queue_counts).
QUEUE_COUNTS_SECONDS = 30


def count_queues() -> dict[str, int]:
    """How many cases each workbench queue holds, in one query (FILTER aggregates)."""
    return Case.objects.filter(_COUNTED).aggregate(
        **{name: Count("id", filter=condition) for name, condition in WORKBENCH_QUEUES.items()}
    )


def _counts_key() -> str:
    return f"cases:queue-counts:{connection.schema_name}"


def queue_counts() -> dict[str, int]:
    """The side menu's counts of this unit: `count_queues` as of at most QUEUE_COUNTS_SECONDS
    ago, or since the last step that moved a case."""
    counts = cache.get(_counts_key())
    if counts is None:
        counts = count_queues()
        cache.set(_counts_key(), counts, QUEUE_COUNTS_SECONDS)
    return counts


def forget_queue_counts() -> None:
    """A case moved: the next menu counts again. Forgotten now (a database cache forgets in the
    same transaction) and again once it commits (a reader in between may have counted the old
    state into a shared cache)."""
    key = _counts_key()
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


CASE_NUMBER = re.compile(r"[0-9A-Z]{39,50}", re.ASCII)


def _search(cases, text: str):
    """A case number (whole: its unique index; or its start), an applicant's ID number (the
    digest's index), or the start of an applicant's name. A name is looked up per case of the
    unit by the account's primary key, never by scanning the province's accounts."""
    text = text.strip()
    try:
        digests = id_number_digests(normalize_id_number(text))
    except ValidationError:  # not an ID number: a case number or a name
        digests = None
    if digests:
        return cases.filter(
            applicant_id__in=User.objects.filter(id_number_digest__in=digests).values("pk")
        )
    if text.isascii() and text.isalnum():
        number = text.upper()
        if CASE_NUMBER.fullmatch(number):
            return cases.filter(number=number)
        return cases.filter(number__startswith=number)
    return cases.filter(
        Exists(User.objects.filter(pk=OuterRef("applicant_id"), real_name__startswith=text))
    )


def workbench_cases(
    *,
    queue: str = ALL,
    implementation_id: int | None = None,
    department_id: int | None = None,
    search: str = "",
):
    """One workbench queue with its filters: oldest submission first (yellow and red: the most
    urgent due time first, the order of their index)."""
    cases = Case.objects.exclude(state=State.DRAFT)
    if queue != ALL:
        cases = cases.filter(WORKBENCH_QUEUES[queue])
    if implementation_id is not None:
        cases = cases.filter(implementation_id=implementation_id)
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if search.strip():
        cases = _search(cases, search)
    if queue in ("yellow", "red"):
        return cases.order_by("due_at", "id")
    return cases.order_by("submitted_at", "id")


# --- parallel approval (并联审批) ------------------------------------------------------------

TASK_ROLES = ("reviewer", "approver", "department_head")


def task_departments(user, tenant) -> set[int]:
    """The departments of this unit whose parallel tasks `user` completes: those of their active
    reviewer, approver or department-head roles here (a role without a department gives none)."""
    from shared_apps.accounts.models import StaffMembership

    if user is None or not getattr(user, "is_authenticated", False) or tenant is None:
        return set()
    return set(
        StaffMembership.objects.filter(
            user=user,
            tenant_id=tenant.id,
            is_active=True,
            role__in=TASK_ROLES,
            department_id__isnull=False,
        ).values_list("department_id", flat=True)
    )


def may_complete_task(user, tenant, task) -> bool:
    return task.unit_id == tenant.id and task.department_id in task_departments(user, tenant)


def department_tasks(user, tenant, *, state: str | None = "pending"):
    """The parallel tasks of the user's departments in this unit, most urgent first (the 会签
    queue)."""
    from tenant_apps.cases.models import ParallelTask

    tasks = ParallelTask.objects.filter(
        unit_id=tenant.id, department_id__in=task_departments(user, tenant)
    )
    if state:
        tasks = tasks.filter(state=state)
    return tasks.order_by(F("due_at").asc(nulls_last=True), "id")


def case_tasks(case):
    """Every task of a case and its opinion (the lead department sees them all)."""
    return case.tasks.order_by("id")


def find_task(public_id):
    """A task in this unit's schema, or None: ids from another unit are not found here."""
    from tenant_apps.cases.models import ParallelTask

    try:
        return ParallelTask.objects.filter(public_id=public_id).first()
    except (ValidationError, ValueError):
        return None
