"""Each way found to rewrite the audit log unnoticed (issue 8, item 5) is now detected or refused.
The attacker here has the database's owner rights (and disables the append-only trigger), but not
AUDIT_KEY."""

import hashlib
import hmac
import json
import logging
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from shared_apps.accounts.models import ApiToken, SystemClient, User
from shared_apps.audit.actions import Actor, record_audit
from shared_apps.audit.checkpoints import (
    CHECKPOINT_LOG_PREFIX,
    read_checkpoint_log,
    write_checkpoint,
)
from shared_apps.audit.models import AuditCheckpoint, AuditEntry, AuditEvent
from shared_apps.audit.queries import verify_chain


@contextmanager
def as_table_owner():
    """What someone with the owner's rights can do: switch the append-only triggers off. (The
    platform itself writes as the application role, which can't.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = cursor.fetchone()[0]
        cursor.execute("RESET ROLE")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending deferred checks on the table
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER")
        yield cursor
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER USER")
        cursor.execute(f"SET ROLE {connection.ops.quote_name(role)}")


def entries(n: int, **extra) -> list[AuditEntry]:
    return [
        record_audit(actor="system:test", action="test.step", target=str(i), **extra)
        for i in range(n)
    ]


def test_editing_an_entry_and_rehashing_without_the_key_is_detected(db):
    chain = entries(4)
    assert verify_chain()[1] == []
    victim, after = chain[1], chain[2:]
    with as_table_owner() as cursor:
        # The attacker recomputes the chain from the edit on, the only way without AUDIT_KEY:
        # plain SHA-256 (what the chain used to be) for the edited entry, a guessed key after it.
        cursor.execute("UPDATE audit_auditentry SET target = 'forged' WHERE id = %s", [victim.id])
        victim.refresh_from_db()
        victim.scheme = AuditEntry.Scheme.SHA256
        prev = hashlib.sha256((victim.prev_hash + victim.content()).encode()).hexdigest()
        cursor.execute(
            "UPDATE audit_auditentry SET scheme = 1, entry_hash = %s WHERE id = %s",
            [prev, victim.id],
        )
        for entry in after:
            entry.prev_hash = prev
            prev = hmac.new(b"guessed", entry.content().encode(), hashlib.sha256).hexdigest()
            cursor.execute(
                "UPDATE audit_auditentry SET prev_hash = %s, entry_hash = %s WHERE id = %s",
                [entry.prev_hash, prev, entry.id],
            )
    _checked, problems = verify_chain()
    assert any(f"entry {victim.id}" in p and "unkeyed" in p for p in problems)
    for entry in after:
        assert any(f"entry {entry.id}:" in p and "edited" in p for p in problems), problems
    with pytest.raises(CommandError, match="tampered"):
        call_command("verify_audit_chain")


@pytest.mark.parametrize("column", ["actor_user_id", "actor_client_id", "id"])
def test_changing_who_acted_or_the_id_is_detected(db, column):
    user = User.objects.create_user("clerk-a")
    other = User.objects.create_user("clerk-b")
    client = SystemClient.objects.create(name="a", client_id="sys-a", secret_digest="x")
    SystemClient.objects.create(name="b", client_id="sys-b", secret_digest="x")
    entry = record_audit(actor=Actor(user=user, client=client), action="test.step")
    forged = {
        "actor_user_id": other.id,
        "actor_client_id": SystemClient.objects.get(client_id="sys-b").id,
        "id": entry.id + 1000,
    }[column]
    with as_table_owner() as cursor:
        cursor.execute(
            f"UPDATE audit_auditentry SET {column} = %s WHERE id = %s", [forged, entry.id]
        )
    _checked, problems = verify_chain()
    assert any("edited" in p for p in problems), problems


def test_a_cut_tail_is_reported_against_the_signed_checkpoint(db):
    chain = entries(3)
    checkpoint = write_checkpoint()
    assert checkpoint.last_entry_id == chain[-1].id
    assert verify_chain()[1] == []
    with as_table_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id >= %s", [chain[1].id])
    _checked, problems = verify_chain()
    assert any(
        f"checkpoint {checkpoint.id}" in p
        and f"entry {chain[-1].id} of chain province is missing" in p
        for p in problems
    ), problems


def test_each_unit_has_its_own_chain_and_its_cut_tail_is_reported(db, tenant, other_tenant):
    a1, b1, p1, a2, b2 = (
        record_audit(actor="system:test", action="test.step", tenant=unit)
        for unit in (tenant, other_tenant, None, tenant, other_tenant)
    )
    assert (a2.prev_hash, b2.prev_hash) == (a1.entry_hash, b1.entry_hash)
    checkpoint = write_checkpoint()
    assert checkpoint.heads[tenant.code] == [a2.id, a2.entry_hash]
    assert checkpoint.heads[other_tenant.code] == [b2.id, b2.entry_hash]
    assert checkpoint.heads[""] == [p1.id, p1.entry_hash]
    assert verify_chain()[1] == []
    with as_table_owner() as cursor:  # the newest entry of one unit's chain
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [a2.id])
    assert verify_chain()[1] == [
        f"checkpoint {checkpoint.id}: entry {a2.id} of chain {tenant.code} is missing "
        "(entries were cut from the log)"
    ]


def test_checkpoints_removed_with_the_tail_are_found_in_the_logged_copy(db, caplog, tmp_path):
    entries(2)
    with caplog.at_level(logging.INFO, logger="audit.checkpoint"):
        first = write_checkpoint()
        tail = entries(2)
        second = write_checkpoint()
    log_file = tmp_path / "platform.log"
    log_file.write_text("\n".join(f"2026-11-28 INFO audit.checkpoint: {r.getMessage()}"
                                  for r in caplog.records) + "\nunrelated line\n")  # fmt: skip
    assert [r["id"] for r in read_checkpoint_log(log_file)] == [first.id, second.id]
    call_command("verify_audit_chain", checkpoints=[str(log_file)])

    with as_table_owner() as cursor:  # cut the tail and the checkpoint that named it
        cursor.execute("DELETE FROM audit_auditentry WHERE id >= %s", [tail[0].id])
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE id = %s", [second.id])
    assert verify_chain()[1] == []  # the database alone now looks consistent…
    with pytest.raises(CommandError, match=f"logged checkpoint {second.id}: missing"):
        call_command("verify_audit_chain", checkpoints=[str(log_file)])  # …its log copy does not


def test_removing_or_forging_a_checkpoint_is_detected(db):
    entries(1)
    first = write_checkpoint()
    entries(1)
    second = write_checkpoint()
    entries(1)
    third = write_checkpoint()
    with as_table_owner() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE id = %s", [second.id])
        cursor.execute(
            "UPDATE audit_auditcheckpoint SET last_entry_id = %s WHERE id = %s",
            [first.last_entry_id, third.id],
        )
    problems = verify_chain()[1]
    assert any(f"checkpoint {third.id}: does not follow" in p for p in problems), problems
    assert any(f"checkpoint {third.id}: its signature is wrong" in p for p in problems)


@pytest.mark.database_owner  # the triggers refuse even the owner
def test_truncate_is_refused(db):
    entries(1)
    write_checkpoint()
    for table in ("audit_auditentry", "audit_auditcheckpoint"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEntry.objects.exists()


@pytest.mark.database_owner  # the triggers refuse even the owner
def test_checkpoints_are_append_only(db):
    entries(1)
    checkpoint = write_checkpoint()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(last_entry_id=0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete()


def test_a_checkpoint_is_logged_once_per_head(db, caplog):
    entries(1)
    with caplog.at_level(logging.INFO, logger="audit.checkpoint"):
        first = write_checkpoint()
        assert write_checkpoint() == first  # nothing new: no new checkpoint
    [line] = [r.getMessage() for r in caplog.records]
    assert json.loads(line.removeprefix(CHECKPOINT_LOG_PREFIX))["signature"] == first.signature


def test_the_hash_covers_every_column(db):
    user = User.objects.create_user("clerk-e")
    client = SystemClient.objects.create(name="c", client_id="sys-c", secret_digest="x")
    entry = record_audit(
        actor=Actor(user=user, client=client), action="test.step", target="x", data={"k": "v"}
    )
    entry.refresh_from_db()
    assert entry.compute_hash() == entry.entry_hash
    changed = {"at": entry.at.replace(year=2000), "data": {"k": "w"}, "ip_address": "10.0.0.1"}
    for field in AuditEntry._meta.concrete_fields:
        if field.attname == "entry_hash":
            continue
        original = getattr(entry, field.attname)
        default = original + 1 if isinstance(original, int) else f"{original}x"
        setattr(entry, field.attname, changed.get(field.attname, default))
        assert entry.compute_hash() != entry.entry_hash, f"{field.attname} is not covered"
        setattr(entry, field.attname, original)


def test_actors_people_system_clients_and_labels(db):
    user = User.objects.create_user("clerk-c")
    client = SystemClient.objects.create(name="税务系统", client_id="sys-tax", secret_digest="x")
    token = ApiToken(client=client, kind=ApiToken.Kind.ACCESS, digest="d")
    as_user = record_audit(actor=user, action=AuditEvent.GRANT_ROLE)
    as_client = record_audit(actor=client, action="catalog.save_item")
    as_token = record_audit(actor=token, action="catalog.save_item")
    as_label = record_audit(actor="system:import", action="tenants.import_divisions")
    assert (as_user.actor, as_user.actor_user, as_user.actor_client) == ("clerk-c", user, None)
    assert as_user.action == "accounts.grant_role"
    for entry in (as_client, as_token):
        assert (entry.actor, entry.actor_user, entry.actor_client) == (
            "client:sys-tax",
            None,
            client,
        )
    assert (as_label.actor, as_label.actor_user, as_label.actor_client) == (
        "system:import",
        None,
        None,
    )
    assert verify_chain()[1] == []


def test_an_account_that_acted_cannot_be_deleted(db):
    from django.db.models import ProtectedError

    user = User.objects.create_user("clerk-d")
    record_audit(actor=user, action="test.step")
    with pytest.raises(ProtectedError):
        user.delete()


def test_nul_laden_and_over_long_input_is_recorded_and_verifies(db):
    entry = record_audit(
        actor="name\x00with-nul" * 30,
        action="accounts.sign_in_failed\x00",
        target="x" * 1000 + "\x00",
        data={"typed\x00": ["a\x00b", {"c": "\x00"}], "n": 1.5},
    )
    entry.refresh_from_db()
    assert "\x00" not in entry.actor + entry.target + str(entry.data)
    assert len(entry.actor) == 150 and len(entry.target) == 300
    assert verify_chain()[1] == []


def test_a_checkpoint_gives_up_rather_than_hold_writers_up(db):
    """A writer still in its transaction keeps the checkpoint from reading the heads: it waits at
    most CHECKPOINT_WAIT, then says so (the next round retries)."""
    import psycopg

    from shared_apps.audit.checkpoints import CheckpointBusy

    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params["user"],
        dbname=params["dbname"],
    ) as writer:
        writer.execute("SELECT * FROM audit_chain_next('')")  # in flight, not committed
        with pytest.raises(CheckpointBusy):
            write_checkpoint()
        writer.rollback()
