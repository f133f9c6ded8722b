"""The payment orders in a unit's API: made for a case (once), read with their state; another
unit's staff see nothing of them."""

import json

from django.db import connection

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.payments.tests.conftest import accepted_case, signed_result
from tests.helpers import host_of


def post(client, path, tenant, body):
    return client.post(
        path, data=json.dumps(body), content_type="application/json", HTTP_HOST=host_of(tenant)
    )


def test_a_department_system_reads_the_order_and_its_state(
    client, people, tenant, fee_service, gateway_settings
):
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.clerk)
    path = f"/api/v1/cases/{case.public_id}/payment-orders"
    made = post(client, path, tenant, {"stage": "acceptance"})
    again = post(client, path, tenant, {"stage": "acceptance"})
    assert made.status_code == again.status_code == 201
    order = made.json()
    assert order == again.json()  # the same order: made once
    assert order["total"] == "70.00" and order["state"] == "pending"
    assert [i["amount"] for i in order["items"]] == ["20.00", "50.00"]
    assert client.get(path, HTTP_HOST=host_of(tenant)).json() == [order]
    # Not yet decided: nothing is charged before delivery.
    refused = post(client, path, tenant, {"stage": "delivery"})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid"
    assert post(client, path, tenant, {"stage": "later"}).status_code == 422

    from shared_apps.payments import actions
    from shared_apps.payments.models import PaymentOrder

    paid = PaymentOrder.objects.get(slip_number=order["slip_number"])
    actions.receive_result(gateway_settings, signed_result(paid), via="notify")
    one = client.get(f"/api/v1/payment-orders/{order['slip_number']}", HTTP_HOST=host_of(tenant))
    assert one.status_code == 200 and one.json()["state"] == "paid" and one.json()["paid_at"]


def test_another_units_staff_see_no_order(client, people, tenant, other_tenant, fee_service):
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    from shared_apps.payments.models import PaymentOrder

    slip = PaymentOrder.objects.get(case_public_id=case.public_id).slip_number
    foreign = people.staff("gulou-pay-clerk", Role.WINDOW_CLERK, tenant=other_tenant)
    sign_in_with_second_factor(client, foreign)
    # At their own unit, with this unit's ids: not there.
    assert (
        client.get(f"/api/v1/payment-orders/{slip}", HTTP_HOST=host_of(other_tenant)).status_code
        == 404
    )
    path = f"/api/v1/cases/{case.public_id}/payment-orders"
    assert client.get(path, HTTP_HOST=host_of(other_tenant)).status_code == 404
    assert post(client, path, other_tenant, {"stage": "acceptance"}).status_code == 404
    # At the order's unit: no role there.
    assert (
        client.get(f"/api/v1/payment-orders/{slip}", HTTP_HOST=host_of(tenant)).status_code == 403
    )
    assert client.get(path, HTTP_HOST=host_of(tenant)).status_code == 403
    bad = client.get("/api/v1/payment-orders/" + "9" * 51, HTTP_HOST=host_of(other_tenant))
    assert bad.status_code == 422


def test_refunds_through_the_api_asked_by_staff_decided_by_the_head(
    client, people, tenant, other_tenant, fee_service, fake_gateway, settings
):
    settings.PAYMENT_GATEWAY_URL, settings.PAYMENT_MERCHANT_ID = fake_gateway.url, "henan-gov-test"
    settings.PAYMENT_GATEWAY_KEY = fake_gateway.provider.key
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    from shared_apps.payments import actions
    from shared_apps.payments.models import PaymentOrder

    order = PaymentOrder.objects.get(case_public_id=case.public_id)
    reference = fake_gateway.pay(order)
    actions.receive_result(
        fake_gateway.provider, signed_result(order, reference=reference), via="notify"
    )
    sign_in_with_second_factor(client, people.clerk)
    path = f"/api/v1/payment-orders/{order.slip_number}/refunds"
    too_much = post(client, path, tenant, {"amount": "70.01", "reason": "撤回"})
    assert too_much.status_code == 422
    asked = post(client, path, tenant, {"amount": "70.00", "reason": "办件撤回"})
    assert asked.status_code == 201 and asked.json()["state"] == "requested"
    refund_id = asked.json()["id"]
    # The clerk is no department head; another unit's head finds no such refund.
    assert post(client, f"/api/v1/refunds/{refund_id}/approve", tenant, {}).status_code == 403
    client.logout()
    foreign = people.staff("gulou-pay-head", Role.DEPARTMENT_HEAD, tenant=other_tenant)
    sign_in_with_second_factor(client, foreign)
    assert post(client, f"/api/v1/refunds/{refund_id}/approve", other_tenant, {}).status_code == 404
    client.logout()
    sign_in_with_second_factor(client, people.head)
    approved = post(client, f"/api/v1/refunds/{refund_id}/approve", tenant, {})
    assert approved.status_code == 200 and approved.json()["state"] == "sent"
    again = post(client, f"/api/v1/refunds/{refund_id}/refuse", tenant, {"note": "晚了"})
    assert again.status_code == 422
