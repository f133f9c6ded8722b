"""Refunds (asked by staff, decided by the department head, sent through the gateway process) and
reconciliation against the gateway's statement (each kind of mismatch to the finance queue)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.payments import actions
from shared_apps.payments.models import Mismatch, PaymentOrder, RefundState
from shared_apps.payments.reconciliation import StatementError
from shared_apps.payments.tests.conftest import accepted_case, signed_result


def _order(people, tenant, service):
    case = accepted_case(service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    return PaymentOrder.objects.get(case_public_id=case.public_id)


@pytest.fixture
def paid(people, tenant, fee_service, fake_gateway):
    """An order paid at the gateway (its payment in the gateway's ledger) and recorded here by
    the gateway's signed result."""
    order = _order(people, tenant, fee_service)
    reference = fake_gateway.pay(order)
    actions.receive_result(
        fake_gateway.provider, signed_result(order, reference=reference), via="notify"
    )
    order.refresh_from_db()
    return order


def test_a_refund_approved_by_the_department_head_is_sent(paid, people, tenant, fake_gateway):
    refund = actions.request_refund(
        paid, actor=people.clerk, tenant=tenant, amount="20.00", reason="办件撤回，退还工本费"
    )
    assert (
        refund.state == RefundState.REQUESTED
        and refund.provider_reference == paid.provider_reference
    )
    decided = actions.decide_refund(
        refund, actor=people.head, tenant=tenant, approve=True, provider=fake_gateway.provider
    )
    assert decided.state == RefundState.SENT and decided.provider_refund_no.startswith("R")
    assert AuditEntry.objects.filter(
        action="payments.refund_sent", target=paid.slip_number
    ).exists()
    statement = fake_gateway.provider.statement(timezone.localdate())
    assert f"{decided.provider_refund_no},{paid.slip_number},REFUND,20.00" in statement
    # What is left: 50.00 of 70.00; more is refused before it reaches anyone.
    with pytest.raises(ValidationError):
        actions.request_refund(
            paid, actor=people.clerk, tenant=tenant, amount="50.01", reason="多退"
        )


def test_a_refund_refused_sends_nothing(paid, people, tenant, fake_gateway):
    refund = actions.request_refund(
        paid, actor=people.clerk, tenant=tenant, amount="70.00", reason="重复缴费"
    )
    with pytest.raises(ValidationError):  # a refusal gives its reason
        actions.decide_refund(refund, actor=people.head, tenant=tenant, approve=False)
    refused = actions.decide_refund(
        refund, actor=people.head, tenant=tenant, approve=False, note="查无重复缴费"
    )
    assert refused.state == RefundState.REFUSED and refused.provider_refund_no == ""
    assert "REFUND" not in fake_gateway.provider.statement(timezone.localdate())
    with pytest.raises(ValidationError):  # decided once
        actions.decide_refund(refund, actor=people.head, tenant=tenant, approve=True,
                              provider=fake_gateway.provider)  # fmt: skip


def test_only_the_units_department_head_approves_and_not_the_asker(
    paid, people, tenant, other_tenant, fake_gateway
):
    refund = actions.request_refund(
        paid, actor=people.head, tenant=tenant, amount="1.00", reason="退"
    )
    for actor, unit in ((people.clerk, tenant), (people.head, tenant)):
        with pytest.raises(PermissionDenied):
            actions.decide_refund(refund, actor=actor, tenant=unit, approve=True,
                                  provider=fake_gateway.provider)  # fmt: skip
    foreign_head = people.staff("pay-foreign-head", Role.DEPARTMENT_HEAD, tenant=other_tenant)
    for unit in (other_tenant, tenant):
        with pytest.raises(PermissionDenied):
            actions.decide_refund(refund, actor=foreign_head, tenant=unit, approve=True,
                                  provider=fake_gateway.provider)  # fmt: skip
    with pytest.raises(PermissionDenied):
        actions.request_refund(
            paid, actor=foreign_head, tenant=other_tenant, amount="1", reason="x"
        )
    refund.refresh_from_db()
    assert refund.state == RefundState.REQUESTED


def test_a_double_payment_is_refundable(paid, people, tenant, fake_gateway):
    actions.receive_result(
        fake_gateway.provider, signed_result(paid, reference="T-SECOND"), via="notify"
    )
    refund = actions.request_refund(
        paid, actor=people.clerk, tenant=tenant, amount="70.00", reason="重复缴费",
        reference="T-SECOND",
    )  # fmt: skip
    assert refund.amount == Decimal("70.00")
    with pytest.raises(ValidationError):
        actions.request_refund(
            paid, actor=people.clerk, tenant=tenant, amount="1.00", reason="x", reference="T-NONE"
        )


def test_reconciliation_finds_each_kind_of_mismatch(people, tenant, fee_service, fake_gateway):
    provider = fake_gateway.provider
    today = timezone.localdate()
    # Matched: paid at the gateway, notified here.
    matched = _order(people, tenant, fee_service)
    reference = fake_gateway.pay(matched)
    actions.receive_result(provider, signed_result(matched, reference=reference), via="notify")
    # Missing ours: paid at the gateway, its notification never came.
    silent = _order(people, tenant, fee_service)
    silent_reference = fake_gateway.pay(silent)
    # Missing theirs: recorded here, unknown to the gateway.
    ghost = _order(people, tenant, fee_service)
    actions.receive_result(
        provider, signed_result(ghost, reference="T-NOT-AT-GATEWAY"), via="notify"
    )
    # Amounts differ: the gateway's statement says 7.00 for a payment recorded here at 70.00.
    differs = _order(people, tenant, fee_service)
    actions.receive_result(provider, signed_result(differs, reference="T-DIFFERS"), via="notify")
    fake_gateway.control(trade={
        "trade_no": "T-DIFFERS", "out_trade_no": differs.slip_number, "type": "PAY",
        "amount": "7.00", "finished_at": f"{today:%Y-%m-%d} 09:00:00",
    })  # fmt: skip

    run = actions.reconcile(today, provider=provider)
    found = {
        (m.kind, m.slip_number, m.provider_reference, m.ours, m.theirs, m.tenant_id)
        for m in Mismatch.objects.filter(reconciliation=run)
    }
    assert ("missing_ours", silent.slip_number, silent_reference, None, Decimal("70.00"),
            tenant.id) in found  # fmt: skip
    assert ("missing_theirs", ghost.slip_number, "T-NOT-AT-GATEWAY", Decimal("70.00"), None,
            tenant.id) in found  # fmt: skip
    assert ("amount_differs", differs.slip_number, "T-DIFFERS", Decimal("70.00"),
            Decimal("7.00"), tenant.id) in found  # fmt: skip
    assert not any(m[2] == reference for m in found)
    assert run.matched >= 1 and run.mismatched == len(found)


def test_a_malformed_statement_is_refused(db, fake_gateway):
    for text in ("a,b\n", "trade_no,out_trade_no,type,amount,finished_at\nT1,S1,PAY,1e3,x\n",
                 "trade_no,out_trade_no,type,amount,finished_at\nT1,S1,GIFT,1.00,x\n"):  # fmt: skip
        with pytest.raises(StatementError):
            actions.reconcile(timezone.localdate(), provider=fake_gateway.provider, statement=text)


def test_the_daily_job_marks_overdue_and_reconciles_yesterday_once(
    people, tenant, fee_service, fake_gateway, settings
):
    from datetime import timedelta

    from shared_apps.payments.actors import payments_daily
    from shared_apps.payments.models import Reconciliation

    settings.PAYMENT_GATEWAY_URL, settings.PAYMENT_MERCHANT_ID = fake_gateway.url, "henan-gov-test"
    settings.PAYMENT_GATEWAY_KEY = fake_gateway.provider.key
    order = _order(people, tenant, fee_service)
    PaymentOrder.objects.filter(pk=order.pk).update(
        due_date=timezone.localdate() - timedelta(days=1)
    )
    payments_daily.fn()
    payments_daily.fn()
    order.refresh_from_db()
    assert order.overdue
    yesterday = timezone.localdate() - timedelta(days=1)
    assert Reconciliation.objects.filter(provider="gateway", day=yesterday).count() == 1


def test_the_finance_queue_is_the_provincial_finance_staffs_and_totals_the_administrators(
    client, root, people, tenant, other_tenant, fee_service, fake_gateway
):
    from django.conf import settings

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from tenants.models import Tenant

    portal = {"HTTP_HOST": settings.BASE_DOMAIN}
    order = _order(people, tenant, fee_service)
    actions.receive_result(
        fake_gateway.provider, signed_result(order, reference="T-GHOST"), via="notify"
    )
    actions.reconcile(timezone.localdate(), provider=fake_gateway.provider)
    province = Tenant.objects.get(code="410000000000")
    city = Tenant.objects.get(code="410100000000")  # 郑州市, above the county of the order
    kaifeng = Tenant.objects.get(code="410200000000")

    finance = people.staff("pay-finance", Role.FINANCE, tenant=province)
    sign_in_with_second_factor(client, finance)
    queue = client.get("/api/v1/payments/mismatches", **portal).json()
    mine = [m for m in queue["items"] if m["slip_number"] == order.slip_number]
    assert [(m["kind"], m["unit_code"]) for m in mine] == [("missing_theirs", tenant.code)]
    assert client.get("/api/v1/payments/totals", **portal).status_code == 403

    def admin(name, unit):
        user = people.users.objects.create_user(name)
        accounts.grant_role(actor=root, user=user, tenant=unit, role=Role.TENANT_ADMIN)
        return user

    client.logout()
    sign_in_with_second_factor(client, admin("pay-city-admin", city))
    rows = client.get("/api/v1/payments/totals", {"unit": city.code}, **portal).json()["items"]
    row = next(r for r in rows if r["item_name"] == order.item_name)
    assert (
        row["unit_code"] == tenant.code
        and row["orders"] >= 1
        and row["day"] == str(timezone.localdate())
    )
    assert client.get("/api/v1/payments/mismatches", **portal).status_code == 403
    assert (
        client.get("/api/v1/payments/totals", {"unit": province.code}, **portal).status_code == 403
    )
    client.logout()
    sign_in_with_second_factor(client, admin("pay-kaifeng-admin", kaifeng))
    other = client.get("/api/v1/payments/totals", {"unit": kaifeng.code}, **portal).json()["items"]
    assert all(r["unit_code"].startswith("4102") for r in other)
    assert client.get("/api/v1/payments/totals", {"unit": city.code}, **portal).status_code == 403
