"""The notification relay (issue 10, item 8): every step the applicant must know of becomes one
message in their inbox (and their proxy agent's), yellow and red go to the staff who must act;
exactly once per outbox row with two relays racing, a relay killed mid-batch, and through a real
worker process and the real SMTP server process; a failing send holds nothing up."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation
from django.utils.formats import date_format

from shared_apps.accounts.models import Role
from shared_apps.ledger.models import CaseEventOutbox
from shared_apps.ledger.outbox import record_case_event
from shared_apps.notifications.models import Delivery, Message
from shared_apps.notifications.sending import attempt_delivery
from shared_apps.notifications.tests.conftest import (  # noqa: F401 (fixtures)
    channels,
    sms_gateway,
    smtp_server,
)
from tenant_apps.cases import actions, clock, notices
from tenant_apps.cases.models import Case, State
from tenant_apps.cases.tests.conftest import (
    GOOD_FORM,
    REQUIRED,
    case_in,
    publish_service,
    submitted_case,
    uploads,
)
from tests.helpers import host_of
from tests.servers import ROOT, database_url, free_port
from tests.test_jobs import Workers, broker_urls, wait_until


def new_messages(user, seen: set) -> list[Message]:
    found = list(Message.objects.filter(user=user).exclude(pk__in=seen).order_by("id"))
    seen.update(m.pk for m in found)
    return found


def relayed_once(user, seen: set, kind: str) -> Message:
    """Relay, and find exactly one new message of `kind` for `user`; relaying again adds none."""
    connection.set_schema_to_public()
    notices.relay()
    messages = new_messages(user, seen)
    assert [m.kind for m in messages] == [kind]
    notices.relay()
    assert new_messages(user, seen) == []
    return messages[0]


def text(message: Message) -> str:
    with translation.override("zh-hans"):
        return f"{message.title}\n{message.body}"


def day(at) -> str:
    """A due day as the notices write it (unknown where the official calendar ends)."""
    if at is None:
        return "暂未确定"
    with translation.override("zh-hans"):
        return date_format(clock.local_day(at), "DATE_FORMAT")


def test_every_step_the_applicant_must_know_of_reaches_the_inbox_once(people, service, tenant):
    citizen, seen = people.citizen, set()
    step = lambda: connection.set_tenant(tenant)  # noqa: E731 (actions run in the unit's schema)
    case = submitted_case(service, tenant, citizen)
    message = relayed_once(citizen, seen, "case_submitted")
    assert (message.tenant_id, message.sent_by) == (tenant.pk, "system:case-notices")
    assert message.link == f"http://{host_of(tenant)}/my/cases/{case.public_id}"
    assert text(message).startswith(f"办件 {case.number} 已提交")
    assert f"{tenant.name}已收到您的“食品经营许可”申请" in text(message)

    step()
    case = actions.request_corrections(
        case, actor=people.clerk, items=["营业执照复印件不清晰", "补充经营场所平面图"]
    )
    message = relayed_once(citizen, seen, "case_corrections_requested")
    assert "1. 营业执照复印件不清晰；2. 补充经营场所平面图" in text(message)

    step()
    case = actions.resubmit(case, actor=citizen, materials=uploads(service, *REQUIRED, case=case))
    notices.relay()
    assert new_messages(citizen, seen) == []  # resubmitting is the applicant's own act

    step()
    case = actions.accept(case, actor=people.clerk)
    message = relayed_once(citizen, seen, "case_accepted")
    assert f"预计于{day(case.due_at)}前作出决定" in text(message)

    step()
    case = actions.start_review(case, actor=people.reviewer)
    step()
    case = actions.extend(case, actor=people.head, reason="需组织现场核查")
    message = relayed_once(citizen, seen, "case_extended")
    assert "延长10个工作日" in text(message) and "需组织现场核查" in text(message)
    assert day(case.due_at) in text(message)

    step()
    case = actions.suspend(case, actor=people.reviewer, ground="expert_review", reason="专家评审")
    assert "专家评审" in text(relayed_once(citizen, seen, "case_suspended"))
    step()
    case = actions.resume(case, actor=people.reviewer)
    relayed_once(citizen, seen, "case_resumed")

    step()
    case = actions.decide(case, actor=people.approver, decision="approved", legal_basis="某法")
    assert "作出决定：准予许可" in text(relayed_once(citizen, seen, "case_decided"))
    step()
    case = actions.deliver(case, actor=people.clerk, method="pickup")
    assert "窗口领取" in text(relayed_once(citizen, seen, "case_delivered"))

    rejected = submitted_case(service, tenant, citizen)
    relayed_once(citizen, seen, "case_submitted")
    step()
    actions.reject(rejected, actor=people.clerk, reasons="不属于本部门职权范围")
    message = relayed_once(citizen, seen, "case_not_accepted")
    assert "理由：不属于本部门职权范围" in text(message) and rejected.number in text(message)

    withdrawn = submitted_case(service, tenant, citizen)
    relayed_once(citizen, seen, "case_submitted")
    step()
    actions.withdraw(withdrawn, actor=citizen)
    assert withdrawn.number in text(relayed_once(citizen, seen, "case_withdrawn"))

    # Every row that told someone is marked; none waits.
    connection.set_schema_to_public()
    mine = CaseEventOutbox.objects.filter(applicant_id=citizen.pk, notify_applicant=True)
    assert mine.count() == len(seen) == 12 and not mine.filter(relayed_at__isnull=True).exists()


def test_a_proxy_agent_is_told_too(people, service, tenant):
    case = case_in(State.SUBMITTED, service, tenant, people.citizen, agent=people.agent)
    connection.set_schema_to_public()
    record_case_event(
        tenant=tenant,
        case=case,
        event="accept",
        from_state=State.SUBMITTED,
        to_state=State.ACCEPTED,
        clock={"due_at": None},
        notify_applicant=True,
    )
    notices.relay()
    told = Message.objects.filter(kind="case_accepted", context__number=case.number)
    assert sorted(told.values_list("user_id", flat=True)) == sorted(
        [people.citizen.pk, people.agent.pk]
    )
    assert "暂未确定" in text(told.first())


def test_yellow_and_red_go_to_the_staff_who_must_act(people, service, tenant, other_tenant):
    elsewhere = people.staff("reviewer-elsewhere", Role.REVIEWER, tenant=other_tenant)
    case = case_in(State.UNDER_REVIEW, service, tenant, people.citizen)
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        due_at=now - timedelta(hours=1),
        statutory_due_at=now + timedelta(days=5),
        yellow_at=now - timedelta(days=2),
    )
    connection.set_tenant(tenant)
    assert actions.mark_deadlines(at=now)["red"] == 1
    connection.set_schema_to_public()
    notices.relay()
    told = Message.objects.filter(kind="case_deadline_red", context__number=case.number)
    # Under review: the reviewer, the approver and the head act next; not the window clerk.
    assert set(told.values_list("user_id", flat=True)) == {
        people.reviewer.pk,
        people.approver.pk,
        people.head.pk,
    }
    assert not Message.objects.filter(user__in=[people.clerk, people.citizen, elsewhere]).exists()
    message = told.get(user=people.reviewer)
    assert text(message).startswith(f"红牌警告：办件 {case.number} 已超期")
    assert message.link == f"http://{host_of(tenant)}/workbench/cases/{case.public_id}"


def test_a_failing_send_holds_up_neither_the_case_nor_the_relay(
    people, service, tenant, settings, django_user_model
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_CONFIGURED, settings.EMAIL_TIMEOUT = True, 5
    citizen = people.citizen
    citizen.email = "wang701@example.cn"
    citizen.save(update_fields=["email"])
    case = submitted_case(service, tenant, citizen)
    connection.set_tenant(tenant)
    case = actions.accept(case, actor=people.clerk)
    connection.set_schema_to_public()
    notices.relay()
    message = Message.objects.get(user=citizen, kind="case_accepted")
    email = message.deliveries.get(channel=Delivery.Channel.EMAIL)
    assert attempt_delivery(email.pk).status == "retry"
    email.refresh_from_db()
    assert email.status == "pending" and email.last_error
    connection.set_tenant(tenant)
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED
    connection.set_schema_to_public()
    assert not CaseEventOutbox.objects.filter(
        case_public_id=case.public_id, relayed_at__isnull=True, notify_applicant=True
    ).exists()


# --- committed data, other connections and processes ------------------------------------------
# (Not `transaction=True` tests: their clean-up empties every table, which the append-only audit
# log refuses; the rows made here stay in the test database under names of their own.)


def committed(django_db_blocker, work):
    result, failure = [], []

    def run():
        from django.db import connections

        with django_db_blocker.unblock():
            try:
                result.append(work())
            except BaseException as error:  # re-raised below
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
def forget_committed_notices(django_db_blocker):
    """The messages the committed relays below wrote (for their rows and any other committed
    rows waiting) would stay for the tests that follow, which expect an empty inbox."""
    yield

    def forget():
        Message.objects.filter(kind__startswith="case_").delete()

    committed(django_db_blocker, forget)


def submitted_world(count: int, *, email: bool = False):
    """A citizen of their own with `count` submitted cases, committed: `count` outbox rows."""
    from django.contrib.auth import get_user_model

    from tenants.models import Tenant

    users = get_user_model()
    suffix = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.get(code="410102000000")
    root = users.objects.create_superuser(f"notice-root-{suffix}")
    citizen = users.objects.create_user(
        f"notice-citizen-{suffix}",
        real_name="赵六",
        email=f"notice-{suffix}@example.cn" if email else "",
    )
    service = publish_service(root, tenant)
    numbers = []
    for _ in range(count):
        connection.set_tenant(tenant)
        draft = actions.save_draft(actor=citizen, implementation=service, form_data=GOOD_FORM)
        connection.set_tenant(tenant)
        materials = uploads(service, *REQUIRED, case=draft)
        numbers.append(actions.submit(draft, actor=citizen, materials=materials).number)
        connection.set_schema_to_public()
    return citizen, numbers


def told_numbers(citizen) -> list[str]:
    return sorted(
        Message.objects.filter(user_id=citizen.pk, kind="case_submitted").values_list(
            "context__number", flat=True
        )
    )


def all_relayed(citizen) -> bool:
    return not CaseEventOutbox.objects.filter(
        applicant_id=citizen.pk, notify_applicant=True, relayed_at__isnull=True
    ).exists()


@pytest.mark.django_db
def test_two_relays_racing_tell_each_row_once(django_db_blocker, forget_committed_notices):
    citizen, numbers = committed(django_db_blocker, lambda: submitted_world(12))
    start, counts = threading.Barrier(2), []

    def relay():
        from django.db import connections

        with django_db_blocker.unblock():
            try:
                start.wait()
                counts.append(notices.relay(batch=3))
            finally:
                connections.close_all()

    racers = [threading.Thread(target=relay) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert len(counts) == 2 and sum(counts) >= 12
    assert told_numbers(citizen) == sorted(numbers)
    assert all_relayed(citizen)


@pytest.mark.django_db
@pytest.mark.slow
def test_a_relay_killed_mid_batch_leaves_its_rows_for_the_next(
    django_db_blocker, tmp_path, forget_committed_notices
):
    citizen, numbers = committed(django_db_blocker, lambda: submitted_world(5))
    script = (
        "import os, sys, time, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'govplatform.settings')\n"
        "django.setup()\n"
        "from tenant_apps.cases import notices\n"
        "real = notices.notify\n"
        "def slow(*args, **kwargs):\n"
        "    message = real(*args, **kwargs)\n"
        "    print('notified', flush=True)\n"
        "    time.sleep(120)\n"
        "    return message\n"
        "notices.notify = slow\n"
        "notices.relay(batch=1000)\n"
    )
    relay = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "relay.log", "w"),
        text=True,
        start_new_session=True,
    )
    try:
        assert relay.stdout.readline().strip() == "notified", (tmp_path / "relay.log").read_text()
        os.killpg(relay.pid, signal.SIGKILL)
    finally:
        relay.wait(timeout=20)
    # What it wrote died with it.
    assert told_numbers(citizen) == [] and not all_relayed(citizen)

    def relay_until_done():
        deadline = time.monotonic() + 30
        while not all_relayed(citizen):  # its locks go once the server sees it gone
            assert time.monotonic() < deadline, "rows still locked by the killed relay"
            notices.relay()
            time.sleep(0.2)

    committed(django_db_blocker, relay_until_done)
    assert told_numbers(citizen) == sorted(numbers)


@pytest.mark.django_db
@pytest.mark.slow
def test_a_worker_relays_and_the_smtp_server_gets_each_notice_once(
    django_db_blocker,
    channels,  # noqa: F811
    tmp_path,
    monkeypatch,
    forget_committed_notices,
):
    smtp, _gateway = channels
    citizen, numbers = committed(django_db_blocker, lambda: submitted_world(3, email=True))
    url = broker_urls()[0]
    workers = Workers("" if url == "database" else url, tmp_path)
    monkeypatch.setenv("EMAIL_URL", smtp.url)
    monkeypatch.setenv("NOTIFICATIONS_QUEUE", workers.queue)
    monkeypatch.setenv("CASE_NOTICES_QUEUE", workers.queue)
    try:
        workers.start(threads=2)
        # Two relay jobs at once, as two schedulers' rounds overlapping would.
        workers.send("relay_case_notices")
        workers.send("relay_case_notices")
        wait_until(
            lambda: len([m for m in smtp.received() if m["to"] == citizen.email]) >= 3,
            60,
            f"three e-mails to {citizen.email} (worker log: {workers.log})",
        )
        time.sleep(2)  # anything sent twice would have arrived by now
        mails = [m for m in smtp.received() if m["to"] == citizen.email]
        assert sorted(m["subject"] for m in mails) == sorted(f"办件 {n} 已提交" for n in numbers)
        assert told_numbers(citizen) == sorted(numbers)
        assert all_relayed(citizen)
    finally:
        workers.stop()
