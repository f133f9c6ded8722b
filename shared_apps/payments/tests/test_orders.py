"""Fees in the catalog and payment orders on cases: declared rules, waivers, the order made at
acceptance, the case waiting for it, overdue orders."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from shared_apps.catalog.fees import FeeRuleError, amount_due, waiver_reason
from shared_apps.catalog.models import GuideFee
from shared_apps.notifications.models import Message
from shared_apps.payments import actions
from shared_apps.payments.models import OrderState, PaymentOrder
from shared_apps.payments.queries import orders_of_case
from shared_apps.payments.tests.conftest import FEES, accepted_case, publish_fee_service
from tenant_apps.cases import actions as cases
from tenant_apps.cases import transitions


def test_declared_rules_give_exact_amounts():
    assert amount_due({"fixed": "12.5"}, {}) == Decimal("12.50")
    assert amount_due({"per": "copies", "unit": "0.10", "max_units": 5}, {"copies": 3}) == Decimal(
        "0.30"
    )
    rule = {"by": "category", "amounts": {"个人": "50.00", "企业": "120.00"}}
    assert amount_due(rule, {"category": "企业"}) == Decimal("120.00")
    for form in ({}, {"copies": 6}, {"copies": -1}, {"copies": True}, {"copies": 1.5}):
        with pytest.raises(FeeRuleError):
            amount_due({"per": "copies", "unit": "1.00", "max_units": 5}, form)
    with pytest.raises(FeeRuleError):
        amount_due(rule, {"category": "其他"})
    waivers = [{"field": "low_income", "equals": True, "reason": "低保户免收"}]
    assert waiver_reason(waivers, {"low_income": True}) == "低保户免收"
    assert waiver_reason(waivers, {"low_income": 1}) == ""  # a number is not the checkbox


@pytest.mark.parametrize(
    "rule",
    [
        {"fixed": 10},  # a float or int, not an exact decimal string
        {"fixed": "10.001"},
        {"fixed": "1e3"},
        {"eval": "__import__('os')"},
        {"per": "copies", "unit": "1.00"},
        {"by": "x", "amounts": {}},
    ],
)
def test_only_declared_rules_are_accepted(root, rule):
    from shared_apps.catalog import actions as catalog

    item = catalog.save_basic_item(
        actor=root, code="410199901000", name="规则", exercising_levels=[4]
    )
    with pytest.raises(ValidationError):
        catalog.draft_version(
            item,
            actor=root,
            legal_basis="依据",
            conditions="无",
            process="申请",
            statutory_days=5,
            materials=[],
            fee_items=[{**FEES[0], "rule": rule}],
        )


def test_a_published_guides_fees_are_frozen(root, tenant, fee_service):
    fee = GuideFee.objects.get(version=fee_service.version, name="证照工本费")
    with pytest.raises(DatabaseError), transaction.atomic():
        GuideFee.objects.filter(pk=fee.pk).update(rule={"fixed": "999.00"})


def test_acceptance_makes_the_order_and_tells_the_applicant(people, tenant, fee_service):
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    (order,) = orders_of_case(tenant, case.public_id)
    assert order.total == Decimal("70.00") and isinstance(order.total, Decimal)
    assert [(i.name, i.amount) for i in order.items.all()] == [
        ("证照工本费", Decimal("20.00")),
        ("审查费", Decimal("50.00")),
    ]
    assert len(order.slip_number) <= 50 and order.slip_number.startswith(tenant.code)
    assert order.payer_id == people.citizen.pk and order.case_number == case.number
    assert order.department_id == fee_service.department_id
    assert order.due_date == timezone.localdate() + timedelta(days=15)
    assert order.state == OrderState.PENDING and order.case_waits
    told = Message.objects.get(user=people.citizen, kind="payment_due")
    assert told.context["slip"] == order.slip_number and told.context["amount"] == "70.00"
    # Made once: asking again for the same case and stage finds it.
    connection.set_tenant(tenant)
    again = actions.create_case_order(case, tenant=tenant, stage="acceptance", actor=people.clerk)
    assert again.pk == order.pk


def test_a_waiver_takes_its_fee_off(people, tenant, fee_service):
    form = {"copies": 2, "category": "企业", "low_income": True}
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk, form)
    (order,) = orders_of_case(tenant, case.public_id)
    assert order.total == Decimal("120.00")
    waived = order.items.get(name="证照工本费")
    assert waived.amount == 0 and waived.waiver_reason == "低保户免收"


def test_a_guide_without_fees_makes_no_order(root, people, tenant):
    service = publish_fee_service(root, tenant, fee_items=[])
    case = accepted_case(service, tenant, people.citizen, people.clerk)
    assert orders_of_case(tenant, case.public_id) == []


def test_the_case_waits_for_payment_and_goes_on_when_paid(people, tenant, fee_service):
    from shared_apps.payments.providers import GatewayProvider
    from shared_apps.payments.tests.conftest import GATEWAY, KEY, MERCHANT, signed_result

    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    (order,) = orders_of_case(tenant, case.public_id)
    connection.set_tenant(tenant)
    with pytest.raises(transitions.CaseConflict, match=order.slip_number):
        cases.start_review(case, actor=people.reviewer)
    actions.receive_result(
        GatewayProvider(GATEWAY, MERCHANT, KEY), signed_result(order), via="notify"
    )
    connection.set_tenant(tenant)
    assert cases.start_review(case, actor=people.reviewer).state == "under_review"


def test_fees_before_delivery_hold_the_delivery(root, people, tenant):
    service = publish_fee_service(
        root, tenant, fee_items=[{**FEES[1], "stage": "delivery", "case_waits": True}]
    )
    case = accepted_case(service, tenant, people.citizen, people.clerk)
    assert orders_of_case(tenant, case.public_id) == []  # nothing charged on acceptance
    connection.set_tenant(tenant)
    case = cases.start_review(case, actor=people.reviewer)
    case = cases.decide(case, actor=people.approver, decision="approved", legal_basis="第十九条")
    (order,) = orders_of_case(tenant, case.public_id)
    assert order.stage == "delivery" and order.total == Decimal("50.00")
    connection.set_tenant(tenant)
    with pytest.raises(transitions.CaseConflict):
        cases.deliver(case, actor=people.clerk, method="electronic")


def test_overdue_orders_are_marked_and_the_payer_told_once(people, tenant, fee_service):
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    (order,) = orders_of_case(tenant, case.public_id)
    later = order.due_date + timedelta(days=1)
    assert actions.mark_overdue(today=order.due_date) >= 0  # due today is not overdue
    order.refresh_from_db()
    assert not order.overdue
    assert actions.mark_overdue(today=later) >= 1
    order.refresh_from_db()
    assert order.overdue and order.state == OrderState.PENDING
    assert Message.objects.filter(user=people.citizen, kind="payment_overdue").count() == 1
    actions.mark_overdue(today=later)
    assert Message.objects.filter(user=people.citizen, kind="payment_overdue").count() == 1


def test_another_units_staff_neither_see_nor_cancel_the_order(
    people, tenant, other_tenant, fee_service
):
    from shared_apps.accounts.models import Role

    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    order = PaymentOrder.objects.get(case_public_id=case.public_id)
    assert orders_of_case(other_tenant, case.public_id) == []
    stranger = people.staff("payments-stranger", Role.WINDOW_CLERK, tenant=other_tenant)
    with pytest.raises(PermissionDenied):
        actions.cancel_order(order, actor=stranger, tenant=other_tenant, reason="误收")
    with pytest.raises(PermissionDenied):  # claiming the order's unit without a role in it
        actions.cancel_order(order, actor=stranger, tenant=tenant, reason="误收")
    order.refresh_from_db()
    assert order.state == OrderState.PENDING
    with pytest.raises(ValidationError):
        actions.cancel_order(order, actor=people.clerk, tenant=tenant, reason="误\x00收")
    cancelled = actions.cancel_order(order, actor=people.clerk, tenant=tenant, reason="误收")
    assert cancelled.state == OrderState.CANCELLED


def test_an_order_made_meanwhile_by_another_request_is_the_one_returned(
    people, tenant, fee_service, monkeypatch
):
    """Two requests for the same case and stage: the second passes the check for an order before
    the first's insert commits. Its insert then meets the one-live-order constraint, and it returns
    the first's order rather than failing (a 500) or making a second."""
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    made = PaymentOrder.objects.get(case_public_id=case.public_id, stage="acceptance")
    checks = iter([None])  # the check runs before the other request's order exists
    real = actions._live_order
    monkeypatch.setattr(actions, "_live_order", lambda *a: next(checks, None) or real(*a))
    again = actions.create_case_order(case, tenant=tenant, stage="acceptance", actor=people.clerk)
    assert again.pk == made.pk
    assert PaymentOrder.objects.filter(case_public_id=case.public_id).count() == 1
    assert Message.objects.filter(user=people.citizen, kind="payment_due").count() == 1
