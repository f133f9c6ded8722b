"""The legal clock of a case (办理时限): working days under the official calendar.

Administrative Licensing Law §42 (a limit in working days, extended once), §45 (hearings, testing,
expert review don't count), §82 (working days exclude statutory holidays). Working days follow the
State Council's yearly holiday notice, weekend make-up working days (调休) included, as the
`chinesecalendar` package carries it. A day in a year it does not cover raises CalendarNotCovered:
the clock never guesses from weekdays.

The clock runs in intervals: the day it starts (or resumes) does not count, every working day after
it does, up to and including the day it pauses. `clock_days_used` keeps the days of finished
intervals, `clock_running_since` the start of the current one. Whenever the clock changes, the
absolute `due_at`, `statutory_due_at` and `yellow_at` are stored, so the deadline job is one
set-based UPDATE comparing them with now.
"""

import functools
import logging
import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.utils.translation import gettext as _

from tenant_apps.cases.models import ClockState, DeadlineFlag

logger = logging.getLogger(__name__)

# Beyond this a limit is surely a mistake: never walk the calendar further.
MAX_WORKING_DAYS = 400


class CalendarNotCovered(Exception):
    """The official calendar does not cover this year (yet): the working days can't be known."""

    def __init__(self, year: int):
        self.year = year
        first, last = covered_years()
        super().__init__(
            _(
                "The official holiday calendar for %(year)s is not available (the calendar data "
                "covers %(first)s–%(last)s): working days can't be counted. Update the "
                "chinesecalendar package once the State Council publishes the holidays."
            )
            % {"year": year, "first": first, "last": last}
        )


def covered_years() -> tuple[int, int]:
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(at: datetime) -> date:
    return at.astimezone(local_zone()).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


def end_of(day: date) -> datetime:
    """The first moment after the day (its deadline is its last second)."""
    return start_of(day + timedelta(days=1))


# The calendar is fixed for a given chinesecalendar release: a day's answer never changes while
# the process runs, and a batch of clocks (the hand-off relay, the deadline job) asks the same
# days again and again. A year it does not cover raises, and is asked again next time.
@functools.lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarNotCovered(day.year) from None


def working_days_between(start: date, end: date) -> int:
    """Working days after `start`, up to and including `end`."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself for 0)."""
    if days > MAX_WORKING_DAYS:
        raise ValueError(f"{days} working days is beyond any time limit")
    day = start
    while days > 0:
        day += timedelta(days=1)
        days -= is_working_day(day)
    return day


def limit(case) -> int:
    """The promised limit (承诺时限) the case runs against, extension included."""
    return case.promised_days + case.extension_days


def statutory_limit(case) -> int:
    return case.statutory_days + case.extension_days


def days_used(case, at: datetime) -> int:
    """Working days used so far (CalendarNotCovered if the calendar can't tell)."""
    used = case.clock_days_used
    if case.clock_state == ClockState.RUNNING:
        used += working_days_between(case.clock_running_since, local_day(at))
    return used


# --- the clock's moves (called by actions inside their transaction) ---------------------------


def start(case, at: datetime) -> None:
    case.clock_state = ClockState.RUNNING
    case.clock_running_since = local_day(at)
    case.clock_days_used = 0
    refresh(case, at)


def pause(case, at: datetime) -> None:
    """CalendarNotCovered if the days used can't be counted: a paused clock must know them to
    go on later, so the pause waits for the calendar rather than guess."""
    if case.clock_state != ClockState.RUNNING:
        return
    case.clock_days_used = days_used(case, at)
    case.clock_state = ClockState.PAUSED
    case.clock_running_since = None
    refresh(case, at)


def resume(case, at: datetime) -> None:
    if case.clock_state != ClockState.PAUSED:
        return
    case.clock_state = ClockState.RUNNING
    case.clock_running_since = local_day(at)
    refresh(case, at)


def stop(case, at: datetime) -> None:
    if case.clock_state in (ClockState.RUNNING, ClockState.PAUSED):
        case.clock_days_used = _used_or_unknown(case, at)
        case.clock_state = ClockState.STOPPED
        case.clock_running_since = None
    refresh(case, at)


def extend(case, days: int, at: datetime) -> None:
    case.extension_days = days
    refresh(case, at)


def _used_or_unknown(case, at: datetime) -> int:
    """Days used when the clock stops. A decision or a withdrawal never waits for the calendar:
    if it can't count the last interval, the days before it are kept and the case carries the
    error, so the figure is known to be incomplete."""
    try:
        return days_used(case, at)
    except CalendarNotCovered as error:
        case.clock_error = str(error)[:200]
        return case.clock_days_used


def refresh(case, at: datetime, *, alert: bool = True) -> None:
    """Store the absolute due and yellow times of a running clock (none otherwise) and the flag
    they give now. A year the calendar does not cover leaves them empty with `clock_error` set:
    unknown, never guessed; the deadline job retries and alerts."""
    case.due_at = case.statutory_due_at = case.yellow_at = None
    if case.clock_state != ClockState.RUNNING:
        if case.clock_state == ClockState.STOPPED:
            case.deadline_flag = DeadlineFlag.NONE
        return
    try:
        case.due_at, case.statutory_due_at, case.yellow_at = due_times(case)
    except CalendarNotCovered as error:
        case.clock_error = str(error)[:200]
        if not alert:  # the caller alerts once for many cases
            return
        # An alert for the operators (the deadline job repeats it every run until the calendar
        # is updated; /healthz counts the cases).
        logger.error(
            "Case %s: due times unknown, the official calendar does not cover %s",
            case.number or case.public_id,
            error.year,
        )
        return
    case.clock_error = ""
    case.deadline_flag = flag_at(case, at)


def due_times(case) -> tuple[datetime, datetime, datetime | None]:
    """(due_at, statutory_due_at, yellow_at) of a running clock."""
    since, used = case.clock_running_since, case.clock_days_used

    def deadline(days: int) -> datetime:
        remaining = days - used
        if remaining < 0:  # overdue before this interval began
            return start_of(since)
        return end_of(add_working_days(since, remaining))

    promised = limit(case)
    yellow = None
    if promised > 0:
        threshold = math.ceil(settings.CASE_YELLOW_SHARE * promised) - used
        yellow = start_of(since) if threshold <= 0 else end_of(add_working_days(since, threshold))
    return deadline(promised), deadline(statutory_limit(case)), yellow


def next_mark_at(case, at: datetime) -> datetime | None:
    """When the deadline job next has something to mark on this case: its yellow time, then its
    due time; `at` (retry now) while its due times are unknown; None when nothing is left."""
    if case.clock_state != ClockState.RUNNING:
        return None
    if case.due_at is None:
        return at
    if case.deadline_flag == DeadlineFlag.NONE and case.yellow_at is not None:
        return case.yellow_at
    if case.deadline_flag != DeadlineFlag.RED:
        return case.due_at
    return None


def flag_at(case, at: datetime) -> str:
    if case.clock_state != ClockState.RUNNING or case.due_at is None:
        return case.deadline_flag
    if case.due_at <= at:
        return DeadlineFlag.RED
    if case.yellow_at is not None and case.yellow_at <= at:
        return DeadlineFlag.YELLOW
    return DeadlineFlag.NONE


def snapshot(case) -> dict:
    """The clock as an event leaves it (for the ledger's outbox)."""
    return {
        "state": case.clock_state,
        "days_used": case.clock_days_used,
        "running_since": case.clock_running_since.isoformat() if case.clock_running_since else None,
        "promised_days": case.promised_days,
        "statutory_days": case.statutory_days,
        "extension_days": case.extension_days,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "statutory_due_at": case.statutory_due_at.isoformat() if case.statutory_due_at else None,
        "yellow_at": case.yellow_at.isoformat() if case.yellow_at else None,
        "flag": case.deadline_flag,
        "error": case.clock_error,
    }
