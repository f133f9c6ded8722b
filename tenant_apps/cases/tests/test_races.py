"""Two people acting at the same moment, each in their own committed transaction as two server
threads would. Everything here runs in threads of its own, on connections of their own that
commit. (Not `transaction=True` tests: their clean-up empties every table, which the append-only
audit log refuses; the few rows made here stay in the test database under names of their own.
The `django_db` mark only makes sure the test database is set up.)"""

import random
import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection

from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from tenant_apps.cases import actions, transitions
from tenant_apps.cases.models import Case, CaseEvent
from tenant_apps.cases.tests.conftest import GOOD_FORM, REQUIRED, publish_service, uploads


def _committed(django_db_blocker, work):
    """Run `work` in a thread with its own connection, which commits as it goes."""
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


def _world(django_db_blocker):
    return _committed(django_db_blocker, _build_world)


def _build_world():
    from django.contrib.auth import get_user_model

    from tenants.models import Tenant

    users = get_user_model()
    suffix = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.get(code="410102000000")
    root = users.objects.create_superuser(f"race-root-{suffix}")
    clerks = []
    for n in range(2):
        clerk = users.objects.create_user(f"race-clerk-{n}-{suffix}")
        accounts.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
        clerks.append(clerk)
    citizen = users.objects.create_user(f"race-citizen-{suffix}")
    service = publish_service(root, tenant)
    return tenant, service, citizen, clerks


def _draft(tenant, service, citizen):
    connection.set_tenant(tenant)
    draft = actions.save_draft(actor=citizen, implementation=service, form_data=GOOD_FORM)
    return actions.save_draft(
        draft, actor=citizen, materials=uploads(service, *REQUIRED, case=draft)
    )


def _race(django_db_blocker, work) -> list:
    """Run each of `work` in its own thread and connection, released together."""
    start, outcomes = threading.Barrier(len(work)), []

    def run(job):
        with django_db_blocker.unblock():
            try:
                with connection.cursor() as cursor:  # as the web server does
                    cursor.execute(
                        f"SET ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}"
                    )
                start.wait()
                outcomes.append(job())
            except transitions.CaseConflict as conflict:
                outcomes.append(("conflict", conflict.detail))
            finally:
                connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db
def test_two_clerks_accepting_at_once_one_wins(django_db_blocker):
    tenant, service, citizen, clerks = _world(django_db_blocker)
    case = _committed(
        django_db_blocker,
        lambda: actions.submit(_draft(tenant, service, citizen), actor=citizen),
    )

    def accept_as(clerk):
        def job():
            connection.set_tenant(tenant)
            return ("accepted", actions.accept(case, actor=clerk).state)

        return job

    outcomes = _race(django_db_blocker, [accept_as(clerk) for clerk in clerks])
    assert sorted(o[0] for o in outcomes) == ["accepted", "conflict"]
    [conflict] = [o[1] for o in outcomes if o[0] == "conflict"]
    assert "已受理" in conflict and "刷新" in conflict

    def outcome():
        connection.set_tenant(tenant)
        return (
            CaseEvent.objects.filter(case_id=case.pk, intent="accept").count(),
            Case.objects.get(pk=case.pk).state,
        )

    assert _committed(django_db_blocker, outcome) == (1, "accepted")


@pytest.mark.django_db
def test_submissions_at_once_get_distinct_numbers_in_sequence(django_db_blocker):
    tenant, service, citizen, _clerks = _world(django_db_blocker)
    drafts = _committed(
        django_db_blocker, lambda: [_draft(tenant, service, citizen) for _ in range(4)]
    )
    random.shuffle(drafts)

    def submit(draft):
        def job():
            connection.set_tenant(tenant)
            return actions.submit(draft, actor=citizen).number

        return job

    numbers = _race(django_db_blocker, [submit(draft) for draft in drafts])
    assert len(set(numbers)) == 4
    prefixes = {number[:-4] for number in numbers}
    assert len(prefixes) == 1 and prefixes.pop().startswith(service.code)
    assert sorted(number[-4:] for number in numbers) == ["0001", "0002", "0003", "0004"]
