"""A worker process on the real broker sends what `notify` queued: through the SMTP server
process and the SMS gateway process, the gateway failing once first."""

import threading
import uuid

import pytest
from django.db import connection

from shared_apps.notifications.models import Delivery, Message
from tests.test_jobs import Workers, broker_urls, wait_until


def committed(function):
    """Run `function` on a connection of its own, which commits (the worker can't see what the
    test's transaction writes), and return its result."""
    result, failure = [], []

    def run():
        from django.db import connections

        try:
            result.append(function())
        except Exception as error:  # pragma: no cover - re-raised below
            failure.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


@pytest.fixture
def worker_env(channels, monkeypatch):
    smtp, gateway = channels
    monkeypatch.setenv("EMAIL_URL", smtp.url)
    monkeypatch.setenv("SMS_GATEWAY_URL", gateway.url)
    monkeypatch.setenv("SMS_GATEWAY_KEY", gateway.key)
    return smtp, gateway


@pytest.mark.slow
def test_a_worker_sends_what_notify_queued(db, worker_env, tmp_path, monkeypatch):
    smtp, gateway = worker_env
    url = broker_urls()[0]
    workers = Workers("" if url == "database" else url, tmp_path)
    monkeypatch.setenv("NOTIFICATIONS_QUEUE", workers.queue)
    tag = uuid.uuid4().hex[:8]

    def create():
        from django.contrib.auth import get_user_model

        from shared_apps.notifications.inbox import notify

        user = get_user_model().objects.create_user(
            f"worker-{tag}",
            email=f"worker-{tag}@example.cn",
            phone=f"139{int(tag, 16) % 10**8:08d}",
        )
        message = notify(
            user,
            "consent_recorded",
            {
                "recorder": "王受理",
                "unit": "中原区",
                "agent": "李代办",
                "purpose": tag,
                "until": "2027-01-31",
            },
            actor="system:tests",
        )
        return user.pk, list(message.deliveries.order_by("channel").values_list("pk", flat=True))

    def delete():
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(username=f"worker-{tag}").delete()

    user_id, delivery_ids = committed(create)
    try:
        gateway.fail_next(1)
        workers.start()
        for delivery_id in delivery_ids:
            message = workers.send("send_notification", delivery_id)
        # The broker delivers the SMS job twice (as after a worker died before acknowledging).
        workers.send("send_notification", message=message)
        [mail] = smtp.wait_for(1, timeout=60)
        # The gateway failed the first SMS: sent again after its wait (5 s).
        [sms] = gateway.wait_for(1, timeout=60)
        assert tag in mail["body"] and tag in sms["text"]
        wait_until(
            lambda: (
                set(Delivery.objects.filter(pk__in=delivery_ids).values_list("status", flat=True))
                == {"sent"}
            ),
            30,
            "both deliveries recorded as sent",
        )
        attempts = dict(
            Delivery.objects.filter(pk__in=delivery_ids).values_list("channel", "attempts")
        )
        assert attempts == {"email": 1, "sms": 2}
        assert len(gateway.received()) == 1 and len(smtp.received()) == 1
        assert Message.objects.get(user_id=user_id).read_at is None
    finally:
        workers.stop()
        connection.set_schema_to_public()
        committed(delete)
