import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from shared_apps.audit.actions import record_audit, record_audit_many
from shared_apps.audit.models import AuditEntry
from shared_apps.audit.queries import verify_chain

# With the owner's rights: disabling the trigger, and seeing it refuse even the owner.
pytestmark = pytest.mark.database_owner


def test_chain_verifies_and_detects_an_edited_row(db):
    for n in range(3):
        record_audit(actor="system:test", action="test.step", target=str(n), data={"n": n})
    checked, problems = verify_chain()
    assert problems == [] and checked >= 3
    call_command("verify_audit_chain")

    victim = AuditEntry.objects.filter(action="test.step").order_by("id")[1]
    with connection.cursor() as cursor:  # what an attacker with database access would do
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending deferred checks on the table
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only")
        cursor.execute("UPDATE audit_auditentry SET target = 'forged' WHERE id = %s", [victim.id])
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only")
    _checked, problems = verify_chain()
    assert any(f"entry {victim.id}" in p and "edited" in p for p in problems)
    with pytest.raises(CommandError, match="tampered"):
        call_command("verify_audit_chain")


def test_a_batch_of_entries_chains_between_single_ones_and_verifies(db):
    from tenants.models import Tenant

    unit = Tenant.objects.exclude(code="").first()
    record_audit(actor="system:test", action="test.before", tenant=unit)
    batch = record_audit_many(
        actor="system:test",
        action="test.batch",
        tenant=unit,
        entries=[(f"B{n}", {"n": n, "nul": "a\x00b"}) for n in range(5)],
    )
    record_audit(actor="system:test", action="test.after", tenant=unit)
    chain = list(
        AuditEntry.objects.filter(tenant_code=unit.code, scheme=2)
        .order_by("-id")[:7]
        .values_list("action", "target", "prev_hash", "entry_hash")
    )[::-1]
    assert [row[0] for row in chain] == ["test.before"] + ["test.batch"] * 5 + ["test.after"]
    assert [row[1] for row in chain[1:6]] == [f"B{n}" for n in range(5)]
    # Each entry names the hash of the one before it in the unit's chain.
    assert all(chain[n][2] == chain[n - 1][3] for n in range(1, 7))
    assert [entry.id for entry in batch] == sorted(entry.id for entry in batch)
    _checked, problems = verify_chain()
    assert problems == []


def test_chain_detects_a_removed_row(db):
    for n in range(3):
        record_audit(actor="system:test", action="test.step", target=str(n))
    victim = AuditEntry.objects.filter(action="test.step").order_by("id")[1]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending deferred checks on the table
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only")
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [victim.id])
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only")
    _checked, problems = verify_chain()
    assert any("removed" in p for p in problems)


def test_the_log_refuses_updates_and_deletes(db):
    entry = record_audit(actor="system:test", action="test.step")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(target="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.parametrize(
    "address, stored",
    [
        ("fe80::1%eth0", "fe80::1"),  # a scoped link-local address: PostgreSQL drops the scope
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  # Python writes it ::ffff:c000:201
        ("2001:DB8::1", "2001:db8::1"),
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_an_entry_from_any_form_of_address_verifies(db, rf, address, stored):
    request = rf.get("/", REMOTE_ADDR=address)
    entry = record_audit(actor="system:test", action="test.address", request=request)
    assert AuditEntry.objects.get(pk=entry.pk).ip_address == stored
    assert verify_chain()[1] == []
