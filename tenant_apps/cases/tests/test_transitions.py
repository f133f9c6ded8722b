"""The transition table, tried move by move: every allowed move with every role it allows (and
refused to every other role), and every (state, intent) pair the table does not list refused with
a conflict. Generated from the table itself, so a new row is tested without touching this file."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from shared_apps.accounts.models import ProxyConsent, Role
from shared_apps.audit.models import AuditEntry
from shared_apps.catalog.models import Implementation
from shared_apps.handoffs.models import Handoff, Kind
from shared_apps.ledger.models import CaseEventOutbox
from tenant_apps.cases import actions, clock, transitions
from tenant_apps.cases.models import Case, ClockState, State
from tenant_apps.cases.tests.conftest import CLOCK_IN, case_in
from tenant_apps.cases.transitions import MOVES, TABLE, Clock, Guard
from tenants.models import Tenant

ARGUMENTS = {
    "reject": {"reasons": "材料不属于本机关职权范围"},
    "request_corrections": {"items": ["营业执照复印件不清晰", "缺少法定代表人签字"]},
    "decide": {"decision": "approved", "legal_basis": "《食品安全法》第三十五条"},
    "deliver": {"method": "electronic"},
    "suspend": {"ground": "expert_review", "reason": "需专家评审"},
    "extend": {"reason": "现场核查需要更多时间"},
    "escalate": {"reason": "涉及跨区域经营，本级无权决定"},
    "return": {"reason": "属本级事权，退回办理"},
}


SYSTEM_INTENTS = {  # intent: the hand-off (kind, the state it reports) the relay applies for it
    "receive_result": (Kind.JOINT_RESULT, State.DECIDED),
    "receive_withdrawal": (Kind.JOINT_RESULT, State.WITHDRAWN),
    "take_back": (Kind.RETURN, State.ACCEPTED),
}
# 并联审批's moves, made inside accept and complete_task (test_parallel.py); here the table alone.
PARALLEL_INTENTS = {"start_parallel", "join", "stop_parallel"}


def act(intent, case, actor):
    if intent in SYSTEM_INTENTS:
        if actor != transitions.HANDOFF_ACTOR:
            # Only the relay applies hand-offs; the table refuses anyone else.
            return actions._transition(case, intent, actor=actor)
        return actions.receive_handoff(handoff_for(case, *SYSTEM_INTENTS[intent]))
    if intent in PARALLEL_INTENTS:
        return actions._transition(case, intent, actor=actor)
    if intent == "return":
        return actions.return_case(case, actor=actor, **ARGUMENTS[intent])
    return getattr(actions, intent)(case, actor=actor, **ARGUMENTS.get(intent, {}))


def handoff_for(case, kind, state):
    """A hand-off to the case's unit from its parent, as the relay would hand it over."""
    unit = Tenant.objects.get(pk=connection.tenant.pk)
    connection.set_schema_to_public()
    handoff = Handoff.objects.create(
        from_tenant=unit.parent,
        to_tenant=unit,
        case_public_id=case.public_id,
        case_number=case.number or "",
        kind=kind,
        payload={
            "sent_at": timezone.now().isoformat(),
            "state": state,
            "days_used": 5,
            "reason": "上级退回",
            "decision": "approved",
            "decision_reasons": "",
            "decision_legal_basis": "《食品安全法》第三十五条",
            "decided_at": timezone.now().isoformat(),
        },
    )
    connection.set_tenant(unit)
    return handoff


def prepare(move, case, service, tenant):
    """What a guarded cross-level move needs: an item decided by the parent, a case escalated
    here from a unit below."""
    connection.set_schema_to_public()
    if move.guard == Guard.JOINT:
        Implementation.objects.filter(pk=service.pk).update(decided_by=tenant.parent)
    connection.set_tenant(tenant)
    if move.guard == Guard.ESCALATED:
        below = Tenant.objects.filter(parent=tenant).first()
        Case.objects.filter(pk=case.pk).update(received_from_id=below.pk, received_as="escalate")


@pytest.fixture
def consent(people, tenant):
    return ProxyConsent.objects.create(
        citizen=people.citizen,
        agent=people.agent,
        tenant=tenant,
        purpose="代办食品经营许可",
        valid_until=timezone.now() + timedelta(days=30),
        evidence="授权书 No.0701",
        recorded_by=people.clerk,
        confirmed_at=timezone.now(),
    )


@pytest.mark.parametrize("move", MOVES, ids=lambda m: f"{m.state}-{m.intent}")
def test_an_allowed_move_by_each_role_it_allows_and_no_other(
    move, people, service, tenant, consent
):
    for role in sorted(transitions.ROLES):
        case = case_in(
            move.state,
            service,
            tenant,
            people.citizen,
            agent=people.agent,
            promised_days=0 if move.guard == Guard.SAME_DAY else 10,
        )
        prepare(move, case, service, tenant)
        actor = people.for_role(role)
        if role not in move.roles:
            with pytest.raises(PermissionDenied):
                act(move.intent, case, actor)
            connection.set_tenant(tenant)
            case.refresh_from_db()
            assert case.state == move.state
            continue
        connection.set_schema_to_public()
        before = AuditEntry.objects.count()
        outbox_before = CaseEventOutbox.objects.count()
        expected = move.target(case)
        connection.set_tenant(tenant)
        moved = act(move.intent, case, actor)
        connection.set_tenant(tenant)
        moved.refresh_from_db()
        assert moved.state == expected, (role, moved.state)
        event = moved.events.get()
        assert (event.intent, event.from_state, event.to_state, event.role) == (
            move.intent,
            move.state,
            expected,
            role,
        )
        connection.set_schema_to_public()
        assert AuditEntry.objects.count() == before + 1
        assert AuditEntry.objects.latest("id").action == f"cases.{move.intent}"
        # Every step of a numbered case reaches the ledger's outbox, in the same transaction.
        assert CaseEventOutbox.objects.count() == outbox_before + (1 if moved.number else 0)
        expected_clock = {
            Clock.START: ClockState.RUNNING,
            Clock.PAUSE: ClockState.PAUSED,
            Clock.RESUME: ClockState.RUNNING,
            Clock.STOP: ClockState.STOPPED,
        }.get(move.clock, CLOCK_IN.get(move.state, ClockState.NOT_STARTED))
        if move.clock == Clock.STOP and move.state not in CLOCK_IN:
            expected_clock = ClockState.NOT_STARTED  # withdrawn before the clock started
        assert moved.clock_state == expected_clock, (move, moved.clock_state)


FORBIDDEN = [
    (state, intent)
    for state in State.values
    for intent in transitions.INTENTS
    if (state, intent) not in TABLE
]


def test_the_table_covers_every_state_and_forbids_the_rest():
    reached = {m.to for m in MOVES if m.to not in (transitions.RETURN, transitions.SAME)}
    assert {m.state for m in MOVES} | reached == set(State.values)
    terminal = {State.NOT_ACCEPTED, State.CLOSED, State.WITHDRAWN}
    assert not any(m.state in terminal for m in MOVES)
    assert len(FORBIDDEN) == len(State.values) * len(transitions.INTENTS) - len(TABLE)


@pytest.mark.parametrize("state", State.values)
def test_every_move_the_table_does_not_list_is_a_conflict(state, people, service, tenant):
    """Even someone holding every role, who is also the applicant, is refused with 409."""
    everyone = people.staff("case-everyone", Role.WINDOW_CLERK)
    for role in (Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD):
        from shared_apps.accounts import actions as accounts

        accounts.grant_role(actor=people.root, user=everyone, tenant=tenant, role=role)
    for intent in [i for s, i in FORBIDDEN if s == state]:
        case = case_in(state, service, tenant, everyone)
        with pytest.raises(transitions.CaseConflict) as refused:
            act(intent, case, everyone)
        assert "当前" in refused.value.detail or "已" in refused.value.detail
        connection.set_tenant(tenant)
        case.refresh_from_db()
        assert case.state == state


def test_same_day_items_only_are_decided_straight_after_acceptance(people, service, tenant):
    case = case_in(State.ACCEPTED, service, tenant, people.citizen, promised_days=10)
    with pytest.raises(transitions.CaseConflict, match="即办件|同日|受理后"):
        act("decide", case, people.approver)
    same_day = case_in(State.ACCEPTED, service, tenant, people.citizen, promised_days=0)
    assert act("decide", same_day, people.approver).state == State.DECIDED


def test_an_agent_whose_consent_was_revoked_can_no_longer_act(people, service, tenant, consent):
    case = case_in(State.SUBMITTED, service, tenant, people.citizen, agent=people.agent)
    consent.revoked_at = timezone.now()
    consent.save(update_fields=["revoked_at"])
    with pytest.raises(PermissionDenied):
        act("withdraw", case, people.agent)
    assert act("withdraw", case, people.citizen).state == State.WITHDRAWN


def test_extension_is_granted_once(people, service, tenant):
    case = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)
    extended = act("extend", case, people.head)
    assert extended.extension_days == 10
    assert clock.limit(extended) == 20
    with pytest.raises(transitions.CaseConflict, match="延长"):
        act("extend", extended, people.head)
