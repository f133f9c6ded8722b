"""Demo cases for `./dev start` (`load_demo_data`): a few hundred cases in five counties, in every
state, filed and moved by demo citizens and staff through the real actions (so every step has its
event, audit entry and outbox row), each step dated back as if the case had been filed days or
weeks ago, so that the deadline job finds some yellow and some red. A unit that has its demo cases
is left alone: a second run adds nothing; an interrupted run resumes with the next unit (each unit
is one transaction)."""

import random
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from stdnum.cn import ric

from shared_apps.accounts.actions import grant_role, register_citizen
from shared_apps.accounts.models import StaffMembership
from shared_apps.catalog.models import Implementation
from tenant_apps.cases import actions, clock
from tenant_apps.cases.models import Case, CaseEvent, State
from tenant_apps.cases.samples import attach_with, sample_form, sample_materials
from tenant_apps.cases.transitions import STAFF_ROLES
from tenants.models import Tenant

# (unit code, staff account): 金水区's administrator also handles its cases.
UNITS = [
    ("410105000000", "jinshui-admin"),
    ("410102000000", "zhongyuan-clerk"),
    ("410103000000", "erqi-clerk"),
    ("410204000000", "gulou-clerk"),
    ("410303000000", "xigong-clerk"),
]
CITIZENS = [
    ("张三", "13800000000"),
    ("李四", "13800000001"),
    ("王芳", "13800000002"),
    ("赵磊", "13800000003"),
    ("刘洋", "13800000004"),
    ("陈静", "13800000005"),
    ("杨帆", "13800000006"),
    ("周敏", "13800000007"),
]
# How many cases of each state a unit gets (60 a unit).
PLAN = [
    (State.DRAFT, 4),
    (State.SUBMITTED, 8),
    (State.NOT_ACCEPTED, 3),
    (State.CORRECTIONS_REQUESTED, 5),
    (State.ACCEPTED, 9),
    (State.UNDER_REVIEW, 9),
    (State.SUSPENDED, 3),
    (State.DECIDED, 5),
    (State.DELIVERED, 5),
    (State.CLOSED, 6),
    (State.WITHDRAWN, 3),
]
# Days since filing, by state: running clocks from fresh to overdue; decided cases long enough ago
# for their review, decision and delivery.
RUNNING_SHARES = [0.2, 0.5, 0.85, 0.9, 1.3, 2.0, 0.6, 0.95, 1.5]
AGES = {
    State.SUSPENDED: (5, 30),
    State.DECIDED: (15, 45),
    State.DELIVERED: (15, 45),
    State.CLOSED: (15, 45),
}
LEGAL_BASIS = "《中华人民共和国行政许可法》第三十八条"


def demo_id_number(sequence: int) -> str:
    """A made-up, checksum-valid ID number in 金水区."""
    body = f"410105{1985 + sequence}0{1 + sequence % 9}1{sequence % 3}{100 + sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


@contextmanager
def acting_at(moment):
    """The case actions see `moment` as now (their steps, numbers and clocks); everything else,
    the audit log first, keeps the real time."""
    with mock.patch.object(actions, "timezone", SimpleNamespace(now=lambda: moment)):
        yield


def _citizens(password: str) -> list:
    User = get_user_model()
    people = []
    for n, (name, phone) in enumerate(CITIZENS):
        person = User.objects.filter(phone=phone).first()
        if person is None:
            person = register_citizen(
                real_name=name, id_number=demo_id_number(n), phone=phone, password=password
            )
        people.append(person)
    return people


def _staff(root, tenant, username: str, password: str):
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username, password=password, real_name=f"{tenant.name}窗口人员"
        )
    held = set(
        StaffMembership.objects.filter(user=user, tenant=tenant, is_active=True).values_list(
            "role", flat=True
        )
    )
    for role in sorted(STAFF_ROLES - held):
        grant_role(actor=root, user=user, tenant=tenant, role=role)
    return user


def _services(tenant) -> list:
    """The unit's published items whose forms the samples can fill, with their samples."""
    found = []
    for implementation in (
        Implementation.objects.filter(tenant=tenant, status=Implementation.Status.PUBLISHED)
        .select_related("item", "version")
        .order_by("code")
    ):
        form = sample_form(implementation.form_schema, {"name": "张三"})
        if form is not None:
            found.append((implementation, form))
    return found


def _move(case, state, staff, citizen, start, rng):
    """Take a submitted case on to `state`, one step a few hours (or days) after the other."""
    moment = start

    def step(hours):
        nonlocal moment
        moment += timedelta(hours=hours)
        return acting_at(moment)

    if state == State.NOT_ACCEPTED:
        with step(3):
            return actions.reject(case, actor=staff, reasons="申请事项不属于本机关职权范围")
    if state == State.WITHDRAWN:
        with step(20):
            return actions.withdraw(case, actor=citizen, reason="不再需要办理")
    if state == State.CORRECTIONS_REQUESTED:
        with step(4):
            return actions.request_corrections(
                case, actor=staff, items=["营业执照复印件不清晰，请重新上传", "补充法定代表人签字"]
            )
    with step(2):
        case = actions.accept(case, actor=staff)
    if state == State.ACCEPTED:
        return case
    same_day = case.promised_days == 0
    if not same_day:
        with step(24):
            case = actions.start_review(case, actor=staff)
        if state == State.UNDER_REVIEW:
            return case
        if state == State.SUSPENDED:
            with step(48):
                return actions.suspend(
                    case, actor=staff, ground="testing", reason="需委托检验机构检测"
                )
    with step(1 if same_day else 24 * rng.randint(2, 6)):
        case = actions.decide(case, actor=staff, decision="approved", legal_basis=LEGAL_BASIS)
    if state == State.DECIDED:
        return case
    with step(20):
        case = actions.deliver(case, actor=staff, method="electronic")
    if state == State.DELIVERED:
        return case
    with step(24):
        return actions.close(case, actor=staff)


def _days_back(now, working_days: int) -> int:
    """Calendar days back to the day after which `working_days` working days have passed."""
    day = clock.local_day(now)
    start = day
    while working_days > 0:
        working_days -= clock.is_working_day(day)
        day -= timedelta(days=1)
    return max(1, (start - day).days)


def _load_unit(tenant, staff, citizens, rng) -> int:
    services = _services(tenant)
    same_day = [s for s in services if s[0].promised_days == 0]
    timed = [s for s in services if s[0].promised_days > 0] or services
    # Running clocks on short limits, so that most end within the years the calendar covers.
    short = [s for s in timed if 3 <= s[0].promised_days <= 10] or timed
    now = timezone.now()
    count = 0
    for state, number in PLAN:
        for n in range(number):
            running = state in (State.ACCEPTED, State.UNDER_REVIEW)
            if same_day and state in (State.DECIDED, State.CLOSED) and n == 0:
                pool = same_day
            elif running:
                pool = short
            else:
                pool = timed
            implementation, form = pool[(count * 7 + n) % len(pool)]
            citizen = citizens[count % len(citizens)]
            if running:
                # Accepted long enough ago to have used this share of the promised limit
                # (working days are about 5 in 7): fresh, yellow, overdue.
                share = RUNNING_SHARES[n % len(RUNNING_SHARES)]
                days_ago = _days_back(now, round(implementation.promised_days * share))
            else:
                days_ago = rng.randint(*AGES.get(state, (1, 20)))
            # Filed then (long enough ago for its later steps), in office hours (UTC+8).
            filed = (now - timedelta(days=days_ago)).replace(hour=1, minute=30) + timedelta(
                minutes=rng.randint(0, 420)
            )
            with acting_at(filed):
                case = actions.save_draft(
                    actor=citizen, implementation=implementation, form_data=form
                )
                # Scans of the materials, stored as the application page stores uploads.
                materials = sample_materials(implementation, attach_with(actions, case, citizen))
            # The draft's own row and first event keep the time the demo gives them.
            Case.objects.filter(pk=case.pk).update(created_at=filed)
            CaseEvent.objects.filter(case=case, intent="save_draft").update(at=filed)
            if state != State.DRAFT:
                with acting_at(filed + timedelta(minutes=10)):
                    case = actions.submit(case, actor=citizen, materials=materials)
                if state != State.SUBMITTED:
                    _move(case, state, staff, citizen, filed + timedelta(minutes=10), rng)
            count += 1
    return count


def load_demo_cases(root, password: str, stream=None) -> int:
    """The demo cases of every demo unit that has none yet; then the deadline job in each, so the
    yellow and red queues are filled at once. Returns how many cases were added."""
    citizens = _citizens(password)
    ids = [c.pk for c in citizens]
    rng = random.Random(2026)
    added = 0
    for code, username in UNITS:
        tenant = Tenant.objects.filter(code=code, provisioned_at__isnull=False).first()
        if tenant is None:
            continue
        staff = _staff(root, tenant, username, password)
        connection.set_tenant(tenant)
        try:
            if Case.objects.filter(applicant_id__in=ids).exists():
                continue
            with transaction.atomic():
                count = _load_unit(tenant, staff, citizens, rng)
            connection.set_tenant(tenant)
            actions.mark_deadlines(actor="system:demo")
            added += count
            if stream:
                stream.write(f"demo cases: {count} in {tenant.name}\n")
        finally:
            connection.set_schema_to_public()
    return added
