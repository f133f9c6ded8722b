"""The paid event to a department system's webhook (tests/fakes/webhook_receiver.py, a process of
its own): signed, delivered once, retried with back-off while the system fails."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.payments import actions, webhooks
from shared_apps.payments.models import PaymentOrder, WebhookDelivery
from shared_apps.payments.tests.conftest import ROOT, accepted_case, signed_result
from tests.helpers import host_of
from tests.servers import free_port


@pytest.fixture
def receiver(tmp_path):
    port, inbox = free_port(), tmp_path / "inbox.jsonl"
    argv = [sys.executable, str(ROOT / "tests" / "fakes" / "webhook_receiver.py"), str(port),
            str(inbox)]  # fmt: skip
    process = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "no receiver"
            time.sleep(0.1)

    class Receiver:
        url = f"http://127.0.0.1:{port}/paid"

        def fail(self, n):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/control", data=json.dumps({"fail": n}).encode()
            )
            urllib.request.urlopen(request, timeout=5).read()

        def received(self):
            if not inbox.exists():
                return []
            return [json.loads(line) for line in inbox.read_text("utf-8").splitlines()]

    yield Receiver()
    process.terminate()
    process.wait(timeout=10)


def test_the_paid_event_is_signed_retried_and_delivered_once(
    client, people, tenant, fee_service, gateway_settings, receiver
):
    sign_in_with_second_factor(client, people.clerk)
    made = client.post(
        "/api/v1/payment-webhooks",
        data=json.dumps({"url": receiver.url}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert made.status_code == 201
    secret = made.json()["secret"]
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    order = PaymentOrder.objects.get(case_public_id=case.public_id)
    receiver.fail(2)
    actions.receive_result(gateway_settings, signed_result(order), via="notify")
    actions.receive_result(gateway_settings, signed_result(order), via="return")  # a duplicate
    delivery = WebhookDelivery.objects.get(order=order)

    now = timezone.now()
    webhooks.relay(now=now)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert delivery.next_try_at >= now + timedelta(seconds=29)  # backed off
    webhooks.relay(now=now)  # not due yet: not tried
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    webhooks.relay(now=now + timedelta(minutes=1))
    webhooks.relay(now=now + timedelta(minutes=3))
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.delivered_at is not None
    webhooks.relay(now=now + timedelta(hours=7))

    (got,) = receiver.received()
    body = got["body"].encode()
    assert got["X-Signature"] == webhooks.signature(secret, got["X-Timestamp"], body)
    event = json.loads(body)
    assert event["event"] == "order.paid" and event["slip_number"] == order.slip_number
    assert event["total"] == "70.00" and event["case_id"] == str(case.public_id)


def test_a_webhook_address_is_checked(client, people, tenant):
    sign_in_with_second_factor(client, people.clerk)
    for url in ("ftp://dept.example.cn/x", "javascript:alert(1)", "https://x.cn/" + "a" * 300):
        refused = client.post(
            "/api/v1/payment-webhooks",
            data=json.dumps({"url": url}),
            content_type="application/json",
            HTTP_HOST=host_of(tenant),
        )
        assert refused.status_code == 422, url
