import threading
import uuid
from types import SimpleNamespace

import pytest
from django.db import connection

from shared_apps.ledger.models import CaseEventOutbox
from shared_apps.supervision.models import DailyCount, LedgerEntry, TenantCount


def committed(django_db_blocker, work):
    """Run `work` on a connection of its own, which commits (a worker can't see what the test's
    transaction writes)."""
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


def fake_case(code="11410102MB0000001X4000000001", department=7, channel="online"):
    """What record_case_event reads of a case, without a unit schema."""
    return SimpleNamespace(
        number=f"{code[:20]}{uuid.uuid4().int % 10**8:08d}",
        public_id=uuid.uuid4(),
        applicant_id=None,
        proxy_agent_id=None,
        item_name="食品经营许可",
        implementation_code=code,
        department_id=department,
        department_name="市场监管局",
        channel=channel,
        organisation_id=None,
    )


def recount(**where) -> dict:
    """The counts recomputed from the ledger rows themselves (not the counters)."""
    rows = LedgerEntry.objects.filter(**where)
    return {
        "received": rows.filter(event="submit").count(),
        "accepted": rows.filter(event="accept").count(),
        "completed": rows.filter(event="decide").count(),
        "completed_on_time": rows.filter(event="decide", on_time=True).count(),
        "yellow": rows.filter(event="deadline.yellow").count(),
        "red": rows.filter(event="deadline.red").count(),
        "online": rows.filter(event="submit", channel="online").count(),
    }


@pytest.fixture
def clean_ledger(django_db_blocker):
    """Committed ledger rows would stay for the tests that follow: start and end empty."""

    def wipe():
        connection.set_schema_to_public()
        LedgerEntry.objects.all().delete()
        DailyCount.objects.all().delete()
        TenantCount.objects.all().delete()
        CaseEventOutbox.objects.filter(published_at__isnull=True).update(
            published_at="2000-01-01T00:00:00Z"
        )

    committed(django_db_blocker, wipe)
    yield
    committed(django_db_blocker, wipe)
