"""Every move a case (办件) can make, in one table: from which state, by which intent, to which
state, by whom, and what it does to the legal clock. Actions (actions.py) look a move up here and
nothing else decides what is allowed; the tests generate every allowed and every forbidden move
from this table.

Roles are the staff roles of the unit (shared_apps.accounts.models.Role) plus the applicant and a
proxy agent filing under the applicant's valid consent.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from govplatform.errors import ApiError, ErrorCode
from shared_apps.accounts.models import Role
from tenant_apps.cases.models import State

APPLICANT = "applicant"
PROXY_AGENT = Role.PROXY_AGENT.value
WINDOW_CLERK = Role.WINDOW_CLERK.value
REVIEWER = Role.REVIEWER.value
APPROVER = Role.APPROVER.value
DEPARTMENT_HEAD = Role.DEPARTMENT_HEAD.value
STAFF_ROLES = frozenset({WINDOW_CLERK, REVIEWER, APPROVER, DEPARTMENT_HEAD})
# The hand-off relay (shared_apps.handoffs), applying in this unit what another unit did: the only
# actor with this role is the label below, which no request or token can be.
SYSTEM = "system"
HANDOFF_ACTOR = "system:handoffs"
RULE_ACTOR = "system:escalation-rule"  # 上报 by rule, at acceptance
PARALLEL_ACTOR = "system:parallel-approval"  # 并联审批: started at acceptance, joined or stopped
SYSTEM_ACTORS = frozenset({HANDOFF_ACTOR, RULE_ACTOR, PARALLEL_ACTOR})
FILERS = frozenset({APPLICANT, PROXY_AGENT})


class Clock(StrEnum):
    NONE = "none"
    START = "start"  # 受理: the time limit runs from acceptance
    PAUSE = "pause"  # corrections during review, §45 suspension: the days don't count
    RESUME = "resume"  # resumes a paused clock; a clock never started stays so
    EXTEND = "extend"  # §42: the limit grows, once
    STOP = "stop"  # decided or withdrawn


# Resubmitting corrections and resuming go back to where the case was.
RETURN = "return"
# An extension leaves the state as it is.
SAME = "same"


class Guard(StrEnum):
    NONE = ""
    SAME_DAY = "same_day"  # 即办件 (promised 0 days): decided straight after acceptance
    JOINT = "joint"  # 多级联办: the item is decided by another unit (Implementation.decided_by)
    ESCALATED = "escalated"  # only a case received by escalation is returned


@dataclass(frozen=True)
class Move:
    state: str
    intent: str
    to: str
    roles: frozenset
    clock: Clock
    # The applicant should be told (an outbox row the notifications send from).
    tells_applicant: bool
    guard: Guard = Guard.NONE

    def target(self, case) -> str:
        if self.to == RETURN:
            return case.return_state
        if self.to == SAME:
            return case.state
        return self.to


S = State
CASE_OPEN = (S.SUBMITTED, S.CORRECTIONS_REQUESTED, S.ACCEPTED, S.UNDER_REVIEW, S.SUSPENDED)
_HALL_OR_FILER = FILERS | {WINDOW_CLERK}

MOVES = [
    Move(S.DRAFT, "save_draft", S.DRAFT, _HALL_OR_FILER, Clock.NONE, False),
    Move(S.DRAFT, "submit", S.SUBMITTED, _HALL_OR_FILER, Clock.NONE, True),
    Move(S.SUBMITTED, "accept", S.ACCEPTED, frozenset({WINDOW_CLERK}), Clock.START, True),
    Move(S.SUBMITTED, "reject", S.NOT_ACCEPTED, frozenset({WINDOW_CLERK}), Clock.NONE, True),
    Move(
        S.SUBMITTED,
        "request_corrections",
        S.CORRECTIONS_REQUESTED,
        frozenset({WINDOW_CLERK}),
        Clock.NONE,
        True,
    ),
    Move(
        S.UNDER_REVIEW,
        "request_corrections",
        S.CORRECTIONS_REQUESTED,
        frozenset({REVIEWER}),
        Clock.PAUSE,
        True,
    ),
    Move(S.CORRECTIONS_REQUESTED, "resubmit", RETURN, _HALL_OR_FILER, Clock.RESUME, False),
    Move(S.ACCEPTED, "start_review", S.UNDER_REVIEW, frozenset({REVIEWER}), Clock.NONE, False),
    Move(
        S.ACCEPTED,
        "decide",
        S.DECIDED,
        frozenset({APPROVER, DEPARTMENT_HEAD}),
        Clock.STOP,
        True,
        Guard.SAME_DAY,
    ),
    Move(
        S.UNDER_REVIEW,
        "decide",
        S.DECIDED,
        frozenset({APPROVER, DEPARTMENT_HEAD}),
        Clock.STOP,
        True,
    ),
    Move(
        S.UNDER_REVIEW, "suspend", S.SUSPENDED, frozenset({REVIEWER, APPROVER}), Clock.PAUSE, True
    ),
    Move(S.SUSPENDED, "resume", RETURN, frozenset({REVIEWER, APPROVER}), Clock.RESUME, True),
    *(
        Move(state, "extend", SAME, frozenset({DEPARTMENT_HEAD}), Clock.EXTEND, True)
        for state in (S.ACCEPTED, S.UNDER_REVIEW, S.SUSPENDED, S.PARALLEL_REVIEW)
    ),
    Move(S.DECIDED, "deliver", S.DELIVERED, frozenset({WINDOW_CLERK}), Clock.NONE, True),
    Move(S.DELIVERED, "close", S.CLOSED, frozenset({WINDOW_CLERK}), Clock.NONE, False),
    *(
        Move(state, "withdraw", S.WITHDRAWN, FILERS, Clock.STOP, state != S.DRAFT)
        for state in (S.DRAFT, *CASE_OPEN)
    ),
    # Across levels (shared_apps.handoffs): the case goes to another unit and waits `forwarded`
    # (its clock paused) until the hand-off back; the relay applies what comes back. The applicant
    # sees one case (its index row follows it); the deciding unit's decision tells them.
    Move(S.ACCEPTED, "forward", S.FORWARDED, frozenset({WINDOW_CLERK, REVIEWER}), Clock.PAUSE,
         False, Guard.JOINT),
    Move(S.UNDER_REVIEW, "forward", S.FORWARDED, frozenset({REVIEWER}), Clock.PAUSE, False,
         Guard.JOINT),
    *(
        Move(state, "escalate", S.FORWARDED,
             frozenset({REVIEWER, APPROVER, DEPARTMENT_HEAD, SYSTEM}),
             Clock.PAUSE, False)
        for state in (S.ACCEPTED, S.UNDER_REVIEW)
    ),
    *(
        Move(state, "return", S.FORWARDED, frozenset({REVIEWER, APPROVER, DEPARTMENT_HEAD}),
             Clock.PAUSE, False, Guard.ESCALATED)
        for state in (S.ACCEPTED, S.UNDER_REVIEW)
    ),
    Move(S.FORWARDED, "receive_result", S.DECIDED, frozenset({SYSTEM}), Clock.STOP, False),
    # The applicant withdrew it where it was handled: it is withdrawn where it waited too.
    Move(S.FORWARDED, "receive_withdrawal", S.WITHDRAWN, frozenset({SYSTEM}), Clock.STOP, False),
    Move(S.FORWARDED, "take_back", S.UNDER_REVIEW, frozenset({SYSTEM}), Clock.RESUME, False),
    # 并联审批 (ParallelTask): acceptance of an item with a parallel review hands the case to its
    # departments; the last opinion moves it on to the lead department's review and decision,
    # or (stop at the first refusal) the first refusal decides it as refused. Only the system.
    Move(S.ACCEPTED, "start_parallel", S.PARALLEL_REVIEW, frozenset({SYSTEM}), Clock.NONE, False),
    Move(S.PARALLEL_REVIEW, "join", S.UNDER_REVIEW, frozenset({SYSTEM}), Clock.NONE, False),
    Move(S.PARALLEL_REVIEW, "stop_parallel", S.DECIDED, frozenset({SYSTEM}), Clock.STOP, True),
]  # fmt: skip

TABLE = {(move.state, move.intent): move for move in MOVES}
assert len(TABLE) == len(MOVES), "one move per (state, intent)"
INTENTS = tuple(dict.fromkeys(move.intent for move in MOVES))
ROLES = frozenset().union(*(move.roles for move in MOVES))


class CaseConflict(ApiError):
    """The case is not in a state where this intent applies (409): most often another person
    acted on it first."""

    def __init__(self, detail: str):
        super().__init__(ErrorCode.CONFLICT, detail)


def find(state: str, intent: str) -> Move | None:
    return TABLE.get((state, intent))


def require(case, intent: str) -> Move:
    """The move for this intent from the case's state, or CaseConflict with a clear message."""
    move = find(case.state, intent)
    if move is None:
        raise CaseConflict(
            _(
                "This case is now “%(state)s”, where “%(intent)s” is not possible: someone may "
                "have acted on it first. Reload it to see its current state."
            )
            % {"state": State(case.state).label, "intent": intent_label(intent)}
        )
    return move


def intent_label(intent: str) -> str:
    return {
        "save_draft": _("save the draft"),
        "submit": _("submit"),
        "accept": _("accept"),
        "reject": _("not accept"),
        "request_corrections": _("request corrections"),
        "resubmit": _("resubmit"),
        "start_review": _("start the review"),
        "decide": _("decide"),
        "deliver": _("deliver the result"),
        "close": _("close"),
        "withdraw": _("withdraw"),
        "receive_withdrawal": _("withdrawn where it was handled"),
        "suspend": _("suspend"),
        "resume": _("resume"),
        "extend": _("extend the time limit"),
        "forward": _("pass to the deciding unit"),
        "escalate": _("escalate to the parent unit"),
        "return": _("return to the lower unit"),
        "receive_result": _("receive the decision"),
        "take_back": _("take the case back"),
        "start_parallel": _("start the parallel review"),
        "join": _("join the parallel opinions"),
        "stop_parallel": _("stop the parallel review at a refusal"),
    }[intent]


def intents_for(state: str, roles: set) -> list[str]:
    """What someone holding `roles` may do to a case in `state` (guards aside)."""
    return [m.intent for m in MOVES if m.state == state and m.roles & roles]
