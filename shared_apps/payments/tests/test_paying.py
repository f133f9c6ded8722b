"""Paying: the signed request to the provider, and its signed results (notification and return)
believed only when signed, for a known order and its exact amount, paying each order once
whatever their number, order and timing."""

import threading
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from shared_apps.audit.models import AuditEntry
from shared_apps.payments.models import Notification, OrderState, Outcome, PaymentOrder
from shared_apps.payments.providers import sign
from shared_apps.payments.tests.conftest import (
    KEY,
    accepted_case,
    signed_result,
)

PORTAL = {"HTTP_HOST": settings.BASE_DOMAIN}


@pytest.fixture
def order(people, tenant, fee_service, gateway_settings):
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    return PaymentOrder.objects.get(case_public_id=case.public_id)


def notify(client, params):
    return client.post("/pay/notify", params, **PORTAL)


def outcomes(order):
    return list(
        Notification.objects.filter(order=order).order_by("id").values_list("outcome", flat=True)
    )


def test_paying_starts_with_a_signed_request_to_the_gateway(client, order):
    response = client.post(f"/pay/{order.slip_number}/start", **PORTAL)
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}" == settings.PAYMENT_GATEWAY_URL
    params = dict(parse_qsl(url.query))
    assert params["out_trade_no"] == order.slip_number and params["total_amount"] == "70.00"
    assert params["sign"] == sign(params, KEY)
    assert urlsplit(params["notify_url"]).path == "/pay/notify"


def test_a_notification_pays_the_order(client, order):
    response = notify(client, signed_result(order))
    assert response.status_code == 200 and response.content == b"success"
    order.refresh_from_db()
    assert order.state == OrderState.PAID and order.provider_reference == "T0001"
    assert outcomes(order) == [Outcome.PAID]


def test_a_forged_signature_is_refused(client, order):
    forged = signed_result(order, key="not-the-merchant-key-at-all-000000")
    response = notify(client, forged)
    assert response.status_code == 400 and response.content == b"fail"
    tampered = signed_result(order)
    tampered["total_amount"] = "0.01"  # changed after signing
    assert notify(client, tampered).status_code == 400
    order.refresh_from_db()
    assert order.state == OrderState.PENDING
    assert (
        Notification.objects.filter(
            slip_number=order.slip_number, outcome=Outcome.BAD_SIGNATURE
        ).count()
        == 2
    )


def test_a_wrong_amount_does_not_pay(client, order):
    response = notify(client, signed_result(order, amount="7.00"))
    assert response.content == b"success"  # kept (for finance), so the gateway stops retrying
    order.refresh_from_db()
    assert order.state == OrderState.PENDING
    assert outcomes(order) == [Outcome.WRONG_AMOUNT]
    notify(client, signed_result(order, amount="70.001"))  # not a two-place amount: unsigned
    assert outcomes(order) == [Outcome.WRONG_AMOUNT]


def test_a_duplicate_notification_pays_once(client, order):
    assert notify(client, signed_result(order)).content == b"success"
    assert notify(client, signed_result(order)).content == b"success"
    assert outcomes(order) == [Outcome.PAID, Outcome.DUPLICATE]
    paid = AuditEntry.objects.filter(action="payments.paid", target=order.slip_number)
    assert paid.count() == 1


def test_a_second_payment_of_a_paid_order_is_kept_apart(client, order):
    notify(client, signed_result(order, reference="T0001"))
    notify(client, signed_result(order, reference="T0002"))
    order.refresh_from_db()
    assert order.provider_reference == "T0001"
    assert outcomes(order) == [Outcome.PAID, Outcome.DOUBLE_PAYMENT]


def test_a_notification_before_the_return(client, order):
    notify(client, signed_result(order))
    back = client.get(f"/pay/{order.slip_number}/return", signed_result(order), **PORTAL)
    assert back.status_code == 302
    page = client.get(back["Location"], **PORTAL)
    assert "已缴费" in page.content.decode()
    assert outcomes(order) == [Outcome.PAID, Outcome.DUPLICATE]


def test_the_return_before_the_notification(client, order):
    client.get(f"/pay/{order.slip_number}/return", signed_result(order), **PORTAL)
    notify(client, signed_result(order))
    order.refresh_from_db()
    assert order.state == OrderState.PAID
    assert outcomes(order) == [Outcome.PAID, Outcome.DUPLICATE]


def test_an_unsigned_return_changes_nothing(client, order):
    forged = {**signed_result(order), "sign": "0" * 64}
    client.get(f"/pay/{order.slip_number}/return", forged, **PORTAL)
    order.refresh_from_db()
    assert order.state == OrderState.PENDING


def test_a_notification_for_an_unknown_order(client, order):
    ghost = PaymentOrder(slip_number="410102000000202611299999", total=order.total)
    response = notify(client, signed_result(ghost))
    assert response.content == b"success"
    row = Notification.objects.get(slip_number=ghost.slip_number)
    assert row.outcome == Outcome.UNKNOWN_ORDER and row.order is None
    order.refresh_from_db()
    assert order.state == OrderState.PENDING


def test_the_slip_number_page_shows_no_personal_data(client, order, people):
    page = client.get(f"/pay/{order.slip_number}", **PORTAL)
    text = page.content.decode()
    assert page.status_code == 200
    assert "70.00" in text and order.tenant.name in text
    for personal in (people.citizen.real_name, order.case_number, order.item_name, "证照工本费",
                     people.citizen.phone, people.citizen.username):  # fmt: skip
        assert personal not in text
    # The payer, signed in, sees the fee items of their case too.
    client.force_login(people.citizen)
    text = client.get(f"/pay/{order.slip_number}", **PORTAL).content.decode()
    assert "证照工本费" in text and order.case_number in text


def test_finding_an_order_by_its_slip_number(client, order):
    found = client.get("/pay/", {"slip": order.slip_number}, **PORTAL)
    assert found.status_code == 302 and found["Location"].endswith(f"/pay/{order.slip_number}")
    missing = client.get("/pay/", {"slip": "4101000000001"}, **PORTAL)
    assert missing.status_code == 200 and "slip-not-found" in missing.content.decode()
    # NUL bytes are refused by the request guard before any view, over-long numbers find nothing.
    assert client.get("/pay/", {"slip": "4101\x00"}, **PORTAL).status_code == 400
    too_long = client.get("/pay/", {"slip": "9" * 60}, **PORTAL)
    assert "slip-not-found" in too_long.content.decode()
    assert client.get("/pay/" + "9" * 60, **PORTAL).status_code == 404


# --- concurrency: committed, in threads of their own (as tenant_apps/cases/tests/test_races.py)


def _in_thread(django_db_blocker, work):
    result = []

    def run():
        with django_db_blocker.unblock():
            try:
                result.append(work())
            finally:
                connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert result, "the set-up thread failed (its error is printed above)"
    return result[0]


def _committed_order():
    """An order made directly (no case, no catalog rows: nothing another test could count but
    the order, its payer and their audit entries), committed."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from tenants.models import Tenant

    suffix = uuid.uuid4().hex[:8]
    payer = get_user_model().objects.create_user(f"pay-race-{suffix}")
    return PaymentOrder.objects.create(
        slip_number=f"410102000000RACE{suffix}",
        tenant=Tenant.objects.get(code="410102000000"),
        department_id=1,
        department_name="市场监督管理局",
        case_public_id=uuid.uuid4(),
        case_number=f"RACE{suffix}",
        item_name="并发测试",
        stage="acceptance",
        payer=payer,
        total=Decimal("70.00"),
        due_date=timezone.localdate() + timedelta(days=15),
    )


@pytest.mark.django_db
def test_eight_concurrent_duplicate_notifications_pay_once(django_db_blocker, gateway_settings):
    from shared_apps.payments import actions

    order = _in_thread(django_db_blocker, _committed_order)
    start, results = threading.Barrier(8), []

    def run():
        with django_db_blocker.unblock():
            try:
                with connection.cursor() as cursor:  # as the web server does
                    cursor.execute(
                        f"SET ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}"
                    )
                start.wait()
                row = actions.receive_result(gateway_settings, signed_result(order), via="notify")
                results.append(row.outcome)
            finally:
                connection.close()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def check():
        from shared_apps.notifications.models import Message

        rows = list(
            Notification.objects.filter(order_id=order.pk).values_list("outcome", flat=True)
        )
        paid = AuditEntry.objects.filter(action="payments.paid", target=order.slip_number).count()
        told = Message.objects.filter(user_id=order.payer_id, kind="payment_received")
        count = told.count()
        told.delete()  # left behind, it would be in later tests' counts of messages
        return rows, paid, PaymentOrder.objects.get(pk=order.pk).state, count

    rows, paid, state, told = _in_thread(django_db_blocker, check)
    assert sorted(results) == sorted(rows) and len(rows) == 8
    assert rows.count(Outcome.PAID) == 1 and rows.count(Outcome.DUPLICATE) == 7
    assert paid == 1 and state == OrderState.PAID and told == 1
