"""How a case's time is shown to its applicant: working days left, in words. Used by the unit's
pages (from the case) and the portal's list (from the public index row), so both say the same."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tenant_apps.cases import clock
from tenant_apps.cases.models import DeadlineFlag, State

PAUSED = (State.CORRECTIONS_REQUESTED, State.SUSPENDED)
NOT_STARTED = (State.DRAFT, State.SUBMITTED)


def time_left(state: str, due_at, flag: str = "", now=None) -> str:
    """ "3 working days left", "due today", "overdue", "paused", or "—"."""
    if state in PAUSED:
        return _("Clock paused")
    if state in NOT_STARTED:
        return _("Starts on acceptance")
    if due_at is None:
        return "—"
    now = now or timezone.now()
    if due_at <= now or flag == DeadlineFlag.RED:
        return _("Overdue")
    today = clock.local_day(now)
    due_day = clock.local_day(due_at - timedelta(microseconds=1))
    try:
        days = clock.working_days_between(today, due_day)
    except clock.CalendarNotCovered:
        return _("Due %(date)s") % {"date": f"{due_day:%Y-%m-%d}"}
    if days == 0:
        return _("Due today")
    return ngettext("%(days)s working day left", "%(days)s working days left", days) % {
        "days": days
    }
