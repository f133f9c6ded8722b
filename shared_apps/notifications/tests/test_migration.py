"""Migration: the account notices shown on /accounts/me before this app became its messages."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("accounts", "0005_merge_token_families_and_consents"), ("notifications", None)]
AFTER = [("accounts", "0006_notices_moved_to_notifications")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


@pytest.mark.database_owner
def test_account_notices_become_unread_messages(db, tenant):
    """Inside the test's transaction: PostgreSQL rolls the schema changes back with it."""
    connection.set_schema_to_public()
    old = migrate(BEFORE)
    User = old.get_model("accounts", "User")
    citizen = User.objects.create(username="m-citizen", real_name="张三")
    agent = User.objects.create(username="m-agent", real_name="李代办")
    clerk = User.objects.create(username="m-clerk")
    consent = old.get_model("accounts", "ProxyConsent").objects.create(
        citizen=citizen,
        agent=agent,
        tenant_id=tenant.pk,
        purpose="代办养老保险参保登记",
        valid_until=timezone.make_aware(datetime(2027, 1, 31, 12)),
        evidence="No.0001",
        recorded_by=clerk,
    )
    notice = old.get_model("accounts", "Notice").objects.create(
        user=citizen, kind="consent_recorded", consent=consent
    )
    recorded = timezone.now() - timedelta(days=3)
    type(notice).objects.filter(pk=notice.pk).update(created_at=recorded)

    with connection.cursor() as cursor:
        # The foreign keys' deferred checks of the rows above, before their table is dropped.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    new = migrate(AFTER)
    [message] = new.get_model("notifications", "Message").objects.filter(user_id=citizen.pk)
    assert message.kind == "consent_recorded" and message.read_at is None
    assert message.created_at == recorded and message.tenant_id == tenant.pk
    assert message.context == {
        "recorder": "m-clerk",
        "unit": tenant.name,
        "agent": "李代办",
        "purpose": "代办养老保险参保登记",
        "until": "2027-01-31",
    }
    assert message.sent_by == "m-clerk" and message.link == "/accounts/me"
    # Old notices are not sent by SMS or e-mail now: no deliveries.
    assert not new.get_model("notifications", "Delivery").objects.exists()
