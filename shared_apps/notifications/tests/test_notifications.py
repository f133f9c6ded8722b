"""Notifications (issue 10, item 8): the inbox, and e-mail and SMS sent by a job through a real
SMTP server process and the fake SMS gateway process, retried, sent once."""

import io
import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from shared_apps.notifications import inbox
from shared_apps.notifications.inbox import mark_read, notify
from shared_apps.notifications.models import Delivery, Message
from shared_apps.notifications.queries import INBOX_PAGE_SIZE, unread_count
from shared_apps.notifications.sending import MAX_ATTEMPTS, RETRY_AFTER_S, attempt_delivery

CONTEXT = {
    "recorder": "王受理",
    "unit": "中原区",
    "agent": "李代办",
    "purpose": "代办养老保险参保登记",
    "until": "2027-01-31",
}


@pytest.fixture
def person(django_user_model):
    return django_user_model.objects.create_user(
        "notified", email="zhang.san@example.cn", phone="13912345678", real_name="张三"
    )


def message_for(user, **overrides) -> Message:
    given = {"actor": "system:tests", "link": "/accounts/me"}
    return notify(user, "consent_recorded", CONTEXT, **{**given, **overrides})


def delivery(message: Message, channel: str) -> Delivery:
    return message.deliveries.get(channel=channel)


def make_due(item: Delivery) -> None:
    """As if the wait before the next attempt had passed."""
    Delivery.objects.filter(pk=item.pk).update(next_try_at=timezone.now() - timedelta(seconds=1))


def test_a_message_goes_to_the_inbox_and_is_queued_once_the_action_commits(
    person, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(inbox, "enqueue", queued.extend)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = message_for(person)
        assert queued == []  # nothing leaves before the caller's transaction commits
    assert len(callbacks) == 1
    assert sorted(queued) == sorted(message.deliveries.values_list("pk", flat=True))
    assert set(message.deliveries.values_list("channel", "address", "status")) == {
        ("email", "zhang.san@example.cn", "pending"),
        ("sms", "13912345678", "pending"),
    }
    assert message.sent_by == "system:tests" and message.read_at is None
    assert "李代办" in message.body and "代办养老保险参保登记" in message.body


def test_a_broker_that_is_down_never_fails_the_caller(
    person, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broker_down(ids):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(inbox, "enqueue", broker_down)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        message = message_for(person)
    assert "broker unreachable" in caplog.text
    # Still pending, for send_notifications to queue again.
    assert set(message.deliveries.values_list("status", flat=True)) == {"pending"}


def test_people_without_an_address_get_no_delivery_on_that_channel(django_user_model):
    phone_only = django_user_model.objects.create_user("phone-only", phone="13900000001")
    neither = django_user_model.objects.create_user("no-address")
    gone = django_user_model.objects.create_user(
        "deactivated", email="gone@example.cn", phone="13900000002", is_active=False
    )
    assert list(message_for(phone_only).deliveries.values_list("channel", flat=True)) == ["sms"]
    assert not message_for(neither).deliveries.exists()
    assert not message_for(gone).deliveries.exists()
    assert Message.objects.filter(user__in=[phone_only, neither, gone]).count() == 3


def test_an_unknown_kind_or_a_context_lacking_a_value_writes_nothing(person):
    with pytest.raises(ValueError, match="Unknown kind"):
        notify(person, "no_such_kind", CONTEXT, actor="system:tests")
    with pytest.raises(ValueError, match="lacks"):
        notify(person, "consent_recorded", {"unit": "中原区"}, actor="system:tests")
    assert not Message.objects.exists()


def test_email_is_delivered_through_the_smtp_server(person, channels):
    smtp, _gateway = channels
    item = delivery(message_for(person), "email")
    assert attempt_delivery(item.pk).status == "sent"
    [mail] = smtp.wait_for(1)
    assert mail["to"] == "zhang.san@example.cn"
    assert mail["from"] == settings.DEFAULT_FROM_EMAIL
    assert mail["subject"] == "已有人以您的名义登记代办授权"
    assert "李代办" in mail["body"] and "代办养老保险参保登记" in mail["body"]
    assert f"http://{settings.BASE_DOMAIN}/accounts/me" in mail["body"]
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == ("sent", 1, "")
    assert item.provider_id == mail["message_id"] and item.sent_at is not None


def test_sms_goes_through_the_gateway_signed(person, channels):
    _smtp, gateway = channels
    item = delivery(message_for(person), "sms")
    assert attempt_delivery(item.pk).status == "sent"
    [sms] = gateway.received()
    assert sms["phone"] == "13912345678" and sms["sign_name"] == settings.SMS_SIGN_NAME
    assert "李代办" in sms["text"] and "中原区" in sms["text"]
    assert sms["reference"] == str(item.pk)
    item.refresh_from_db()
    assert item.status == "sent" and item.provider_id == sms["id"]


def test_a_gateway_refusing_the_signature_fails_the_delivery_for_good(person, channels, settings):
    _smtp, gateway = channels
    settings.SMS_GATEWAY_KEY = "not-the-gateway-key"
    item = delivery(message_for(person), "sms")
    assert attempt_delivery(item.pk).status == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and "401" in item.last_error and item.attempts == 1
    assert gateway.received() == []


def test_a_failing_gateway_is_retried_then_delivers(person, channels):
    _smtp, gateway = channels
    gateway.fail_next(2)
    item = delivery(message_for(person), "sms")
    first = attempt_delivery(item.pk)
    assert (first.status, first.retry_in) == ("retry", RETRY_AFTER_S[0])
    item.refresh_from_db()
    assert (item.status, item.attempts) == ("pending", 1) and "503" in item.last_error
    assert item.next_try_at > timezone.now() + timedelta(seconds=RETRY_AFTER_S[0] - 2)
    # Not before its time: the job its retry queued does it.
    assert attempt_delivery(item.pk).status == "skipped"
    make_due(item)
    assert attempt_delivery(item.pk) == type(first)("retry", RETRY_AFTER_S[1])
    make_due(item)
    assert attempt_delivery(item.pk).status == "sent"
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == ("sent", 3, "")
    assert len(gateway.received()) == 1


def test_attempts_are_bounded(person, channels):
    _smtp, gateway = channels
    gateway.fail_next(100)
    item = delivery(message_for(person), "sms")
    outcomes = []
    for _attempt in range(MAX_ATTEMPTS + 2):
        make_due(item)
        outcomes.append(attempt_delivery(item.pk).status)
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed", "skipped", "skipped"]
    item.refresh_from_db()
    assert (item.status, item.attempts) == ("failed", MAX_ATTEMPTS)


def test_a_delivery_delivered_twice_is_sent_once(person, channels):
    smtp, gateway = channels
    message = message_for(person)
    for channel in ("email", "sms"):
        item = delivery(message, channel)
        assert attempt_delivery(item.pk).status == "sent"
        assert attempt_delivery(item.pk).status == "skipped"
    assert len(smtp.wait_for(1)) == 1 and len(gateway.received()) == 1


def test_a_delivery_another_worker_is_sending_is_left_to_it_until_its_claim_expires(
    person, channels
):
    _smtp, gateway = channels
    item = delivery(message_for(person), "sms")
    Delivery.objects.filter(pk=item.pk).update(status="sending", claimed_at=timezone.now())
    busy = attempt_delivery(item.pk)
    assert busy.status == "busy" and 100 < busy.retry_in <= 121
    assert gateway.received() == []
    # That worker died mid-send: once its claim is stale the delivery is taken over.
    Delivery.objects.filter(pk=item.pk).update(claimed_at=timezone.now() - timedelta(minutes=3))
    assert attempt_delivery(item.pk).status == "sent"
    assert len(gateway.received()) == 1


def test_unconfigured_channels_fail_in_production_saying_what_to_set(person, settings):
    settings.DEVELOPMENT = False
    settings.EMAIL_CONFIGURED = False
    settings.SMS_GATEWAY_URL = ""
    message = message_for(person)
    for channel, setting in (("email", "EMAIL_URL"), ("sms", "SMS_GATEWAY_URL")):
        item = delivery(message, channel)
        assert attempt_delivery(item.pk).status == "failed"
        item.refresh_from_db()
        assert setting in item.last_error and "未配置" in item.last_error


def test_development_keeps_email_and_sms_in_files(person, settings, tmp_path):
    settings.DEVELOPMENT = True
    settings.DATA_DIR = tmp_path
    settings.EMAIL_CONFIGURED = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.SMS_GATEWAY_URL = ""
    message = message_for(person)
    assert attempt_delivery(delivery(message, "email").pk).status == "sent"
    assert attempt_delivery(delivery(message, "sms").pk).status == "sent"
    [kept] = list((tmp_path / "mail").iterdir())
    assert "zhang.san@example.cn" in kept.read_text()
    [line] = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    assert "13912345678" in line and "李代办" in line and f"【{settings.SMS_SIGN_NAME}】" in line


def test_the_inbox_pages_counts_unread_and_marks_read(client, person):
    for _n in range(INBOX_PAGE_SIZE + 3):
        message_for(person)
    other = message_for(type(person).objects.create_user("someone-else"))
    assert unread_count(person) == INBOX_PAGE_SIZE + 3
    client.force_login(person)
    host = {"HTTP_HOST": settings.BASE_DOMAIN}
    first = client.get("/accounts/me", **host).content.decode()
    assert first.count('class="unread"') == INBOX_PAGE_SIZE
    assert "23 条未读" in first and "第 1 / 2 页" in first
    second = client.get("/accounts/me?page=2", **host).content.decode()
    assert second.count('class="unread"') == 3
    assert client.get("/accounts/me?page=x%00", **host).status_code in (200, 400)

    newest = Message.objects.filter(user=person).latest("created_at", "id")
    response = client.post("/accounts/me/messages/read", {"message": newest.pk}, **host)
    assert response.status_code == 302
    assert unread_count(person) == INBOX_PAGE_SIZE + 2
    # Someone else's message is not theirs to mark.
    client.post("/accounts/me/messages/read", {"message": other.pk}, **host)
    other.refresh_from_db()
    assert other.read_at is None
    assert (
        client.post("/accounts/me/messages/read", {"message": "1" * 40}, **host).status_code == 400
    )
    client.post("/accounts/me/messages/read", {"message": "all", "page": "2"}, **host)
    assert unread_count(person) == 0 and mark_read(person) == 0


def test_send_notifications_queues_again_the_deliveries_whose_job_was_lost(
    django_user_model, monkeypatch
):
    from django.core.management import call_command

    queued = []
    monkeypatch.setattr(inbox, "enqueue", queued.extend)
    lost, stale, fresh, working, sent = (
        message_for(
            django_user_model.objects.create_user(f"p{n}", phone=f"1390000010{n}")
        ).deliveries.get()
        for n in range(5)
    )
    now = timezone.now()
    Delivery.objects.filter(pk=lost.pk).update(next_try_at=now - timedelta(minutes=5))
    Delivery.objects.filter(pk=stale.pk).update(
        status="sending", claimed_at=now - timedelta(minutes=3)
    )
    Delivery.objects.filter(pk=working.pk).update(status="sending", claimed_at=now)
    Delivery.objects.filter(pk=sent.pk).update(status="sent", next_try_at=now - timedelta(hours=1))
    call_command("send_notifications", stdout=io.StringIO())
    assert queued == [lost.pk, stale.pk]
    assert fresh.pk not in queued


def _settings_with(**environment) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD,"
        " s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.EMAIL_BACKEND.rsplit('.', 2)[-2])"
    )
    env = {**os.environ, **environment, "DJANGO_SETTINGS_MODULE": "govplatform.settings"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_smtp_server_is_configured_by_the_environment():
    url = _settings_with(EMAIL_URL="smtp+tls://notices%40henan.gov.cn:p%3Ass@smtp.henan.gov.cn")
    assert url.stdout.split() == [
        "smtp.henan.gov.cn", "587", "notices@henan.gov.cn", "p:ss", "True", "False", "smtp"
    ]  # fmt: skip
    host = _settings_with(EMAIL_URL="", EMAIL_HOST="10.0.0.5", EMAIL_PORT="2525")
    assert host.stdout.split()[:2] == ["10.0.0.5", "2525"] and host.stdout.split()[-1] == "smtp"
    neither = _settings_with(EMAIL_URL="", EMAIL_HOST="")
    assert neither.stdout.split()[-1] == "filebased"
    wrong = _settings_with(EMAIL_URL="http://smtp.henan.gov.cn")
    assert wrong.returncode != 0 and "EMAIL_URL: unsupported scheme 'http'" in wrong.stderr
    unsigned = _settings_with(SMS_GATEWAY_URL="https://sms.example.cn/send", SMS_GATEWAY_KEY="")
    assert unsigned.returncode != 0 and "without SMS_GATEWAY_KEY" in unsigned.stderr
