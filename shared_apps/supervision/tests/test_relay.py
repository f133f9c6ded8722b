"""The supervision ledger (issue 11, item 5): every case step of every unit reaches the ledger
once, with its unit, item, department and clock, and the counters the relay keeps equal a recount
from the ledger rows at every level."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from shared_apps.ledger.models import CaseEventOutbox
from shared_apps.ledger.outbox import record_case_event
from shared_apps.supervision import queries, relay
from shared_apps.supervision.models import COUNTS, DailyCount, LedgerEntry, TenantCount
from shared_apps.supervision.tests.conftest import fake_case, recount
from tenant_apps.cases import actions
from tenant_apps.cases.models import Case, ClockState, State
from tenant_apps.cases.tests.conftest import (  # noqa: F401 (fixtures)
    case_in,
    people,
    root,
    service,
    submitted_case,
)
from tenants.models import Tenant

EVENTS = ["submit", "accept", "decide", "deadline.yellow", "deadline.red", "start_review"]


def steps(case, tenant, events, *, at=None, clock=None):
    for event in events:
        record_case_event(
            tenant=tenant,
            case=case,
            event=event,
            from_state="",
            to_state="",
            clock=clock or {"state": "running", "flag": "", "due_at": None},
            at=at,
        )


@pytest.mark.django_db
def test_real_case_steps_reach_the_ledger_with_item_department_and_clock(
    people,  # noqa: F811
    service,  # noqa: F811
    tenant,
):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_tenant(tenant)
    actions.accept(case, actor=people.clerk)
    # A second case whose time ran out: the deadline job's own insert.
    connection.set_tenant(tenant)
    late = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)
    Case.objects.filter(pk=late.pk).update(
        clock_state=ClockState.RUNNING,
        due_at=timezone.now() - timedelta(hours=1),
        yellow_at=timezone.now() - timedelta(days=2),
    )
    actions.mark_deadlines()
    connection.set_schema_to_public()
    relay.relay()
    entries = {
        e.event: e
        for e in LedgerEntry.objects.filter(case_public_id__in=[case.public_id, late.public_id])
    }
    assert set(entries) == {"submit", "accept", "deadline.red"}
    accepted = entries["accept"]
    assert accepted.tenant_code == tenant.code
    assert accepted.implementation_code == service.code
    assert accepted.department_id == service.department_id
    assert accepted.department_name == service.department_name
    assert accepted.channel == "online" and accepted.clock_state == "running"
    assert accepted.due_at is not None and accepted.case_number == case.number
    red = entries["deadline.red"]
    assert red.implementation_code == service.code and red.flag == "red"
    assert red.department_name == service.department_name
    assert not CaseEventOutbox.objects.filter(published_at__isnull=True).exists()
    # Relaying again writes nothing.
    before = LedgerEntry.objects.count()
    assert relay.relay() == 0 and LedgerEntry.objects.count() == before


@pytest.mark.django_db
def test_summaries_equal_a_recount_from_the_ledger_at_every_level():
    units = list(Tenant.objects.filter(code__startswith="4101").order_by("code")[:6]) + list(
        Tenant.objects.filter(code__startswith="4102").order_by("code")[:4]
    )
    assert len(units) >= 6
    chance = random.Random(11)
    now = timezone.now()
    for index in range(150):
        unit = chance.choice(units)
        case = fake_case(
            code=f"11{unit.code[:6]}MB{index % 5:07d}X{4000000000 + index % 3}",
            department=index % 4,
            channel=chance.choice(["online", "window", "proxy"]),
        )
        due = now + timedelta(days=chance.choice([-3, 5]))
        events = chance.sample(EVENTS, chance.randint(1, len(EVENTS)))
        steps(
            case,
            unit,
            events,
            at=now - timedelta(days=chance.randint(0, 40)),
            clock={
                "state": "running",
                "flag": chance.choice(["", "red"]),
                "due_at": due.isoformat(),
            },
        )
    # Small batches, and a second run that finds nothing.
    relay.relay(batch=7)
    relay.relay(batch=7)
    assert not CaseEventOutbox.objects.filter(published_at__isnull=True).exists()

    province = Tenant.objects.get(level="province")
    zhengzhou = Tenant.objects.get(code="410100000000")
    county = Tenant.objects.get(code="410102000000")
    assert queries.summary(province).as_dict() == {
        **recount(),
        "online_share": queries.summary(province).online_share,
        "on_time_rate": queries.summary(province).on_time_rate,
    }
    for unit, prefix in ((zhengzhou, "4101"), (county, "410102")):
        figures = queries.summary(unit)
        assert {n: getattr(figures, n) for n in COUNTS} == recount(tenant_code__startswith=prefix)
        assert figures.received > 0
        between = queries.summary_between(unit, None, None)
        assert {n: getattr(between, n) for n in COUNTS} == recount(tenant_code__startswith=prefix)
    # By item: each implementation's counters equal its recount.
    for row in queries.breakdown(zhengzhou, "item"):
        expected = recount(
            tenant_code__startswith="4101", implementation_code=row["implementation_code"]
        )
        assert {n: row[n] for n in COUNTS} == expected
    # The daily counters add up to the units' totals.
    for unit in units:
        daily = DailyCount.objects.filter(tenant=unit)
        total = TenantCount.objects.filter(tenant=unit).first()
        if total is None:
            assert not daily.exists()
            continue
        for name in COUNTS:
            assert sum(getattr(d, name) for d in daily) == getattr(total, name)
    assert queries.summary(province).online_share == round(
        recount()["online"] / recount()["received"], 4
    )


@pytest.mark.django_db
def test_a_row_ledgered_again_is_not_counted_twice(tenant):
    case = fake_case()
    steps(case, tenant, ["submit", "accept"])
    relay.relay()
    before = queries.summary(tenant).as_dict()
    # As if a relay's commit was lost after the ledger row was written: the row comes again.
    CaseEventOutbox.objects.filter(case_public_id=case.public_id).update(published_at=None)
    assert relay.relay() == 0
    assert queries.summary(tenant).as_dict() == before
    assert LedgerEntry.objects.filter(case_public_id=case.public_id).count() == 2


@pytest.mark.django_db
def test_a_decision_after_the_due_time_is_not_on_time(tenant):
    now = timezone.now()
    on_time, late = fake_case(), fake_case()
    steps(
        on_time, tenant, ["decide"], at=now, clock={"due_at": (now + timedelta(days=1)).isoformat()}
    )
    steps(late, tenant, ["decide"], at=now, clock={"due_at": (now - timedelta(days=1)).isoformat()})
    relay.relay()
    assert LedgerEntry.objects.get(case_public_id=on_time.public_id).on_time is True
    assert LedgerEntry.objects.get(case_public_id=late.public_id).on_time is False


@pytest.mark.django_db
def test_a_malformed_clock_holds_nothing_up(tenant):
    odd, fine = fake_case(), fake_case()
    steps(odd, tenant, ["decide"], clock={"due_at": "tomorrow", "days_used": "x"})
    steps(fine, tenant, ["submit"])
    relay.relay()
    entry = LedgerEntry.objects.get(case_public_id=odd.public_id)
    assert entry.due_at is None and entry.days_used is None and entry.on_time is True
    assert LedgerEntry.objects.filter(case_public_id=fine.public_id).exists()
