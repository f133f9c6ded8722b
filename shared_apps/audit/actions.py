import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

from shared_apps.audit.models import AuditCheckpoint, AuditEntry

GENESIS = "0" * 64
_CHAIN_LOCK = 4_100_000_002  # pg_advisory_xact_lock key: one writer extends the chain at a time
CHECKPOINT_LOG_PREFIX = "audit-checkpoint "
checkpoint_log = logging.getLogger("audit.checkpoint")


@dataclass(frozen=True)
class Actor:
    """Who acts (行为主体): a person (`user`), another system (`client`, a SystemClient), or a label
    for the platform itself ("system:import"). `record_audit` takes an Actor, a User, a
    SystemClient, an ApiToken (its person or client) or a label."""

    user: AbstractBaseUser | None = None
    client: models.Model | None = None
    label: str = ""

    @classmethod
    def of(cls, value) -> "Actor":
        if isinstance(value, Actor):
            return value
        if isinstance(value, AbstractBaseUser):
            return cls(user=value)
        label = getattr(getattr(value, "_meta", None), "label", "")
        if label == "accounts.SystemClient":
            return cls(client=value)
        if label == "accounts.ApiToken":
            return cls(user=value.user, client=value.client)
        return cls(label=str(value))

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        if self.client is not None:
            return f"client:{self.client.client_id}"
        return self.label


def client_ip(request) -> str | None:
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def record_audit(
    *,
    actor,
    action: str,
    target: str = "",
    data: dict | None = None,
    tenant=None,
    on_behalf_of: str = "",
    request=None,
) -> AuditEntry:
    """Append one entry to the audit chain. `actor`: see Actor. Done on behalf of someone (代办):
    taken from the request when not given."""
    who = Actor.of(actor)
    if (
        not on_behalf_of
        and request is not None
        and getattr(request, "acting_for", None) is not None
    ):
        on_behalf_of = request.acting_for.audit_label
    entry = AuditEntry(
        at=timezone.now(),
        actor=who.name[:150],
        actor_user=who.user,
        actor_client=who.client,
        on_behalf_of=on_behalf_of[:150],
        tenant_code=getattr(tenant, "code", "") or "",
        action=str(action),
        target=str(target)[:300],
        data=data or {},
        ip_address=client_ip(request),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        cursor.execute("SELECT entry_hash FROM audit_auditentry ORDER BY id DESC LIMIT 1")
        last = cursor.fetchone()
        # The id is part of what the hash covers, so it is drawn before the row is written.
        cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_auditentry', 'id'))")
        entry.id = cursor.fetchone()[0]
        entry.prev_hash = last[0] if last else GENESIS
        entry.entry_hash = entry.compute_hash()
        entry.save(force_insert=True)
    return entry


def write_checkpoint() -> AuditCheckpoint | None:
    """Sign the chain's current head into the checkpoint table and the application log
    (`audit-checkpoint {...}` lines). Run regularly (`manage.py audit_checkpoint`): entries newer
    than the last checkpoint are the only ones a cut can remove unnoticed. Not itself audited: the
    checkpoint is the audit log's own record. None when the log is empty."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        head = AuditEntry.objects.order_by("-id").only("id", "entry_hash").first()
        if head is None:
            return None
        previous = AuditCheckpoint.objects.order_by("-id").first()
        if previous is not None and previous.last_entry_id == head.id:
            return previous
        cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_auditcheckpoint', 'id'))")
        checkpoint = AuditCheckpoint(
            id=cursor.fetchone()[0],
            at=timezone.now(),
            last_entry_id=head.id,
            last_entry_hash=head.entry_hash,
            prev_signature=previous.signature if previous else GENESIS,
        )
        checkpoint.signature = checkpoint.compute_signature()
        checkpoint.save(force_insert=True)
    checkpoint_log.info(CHECKPOINT_LOG_PREFIX + json.dumps(checkpoint.as_record()))
    return checkpoint


def read_checkpoint_log(path: Path) -> list[dict]:
    """The checkpoints in a copy of the application log (any other lines are ignored)."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if CHECKPOINT_LOG_PREFIX in line:
                records.append(json.loads(line.split(CHECKPOINT_LOG_PREFIX, 1)[1]))
    return records


def verify_chain(
    batch_size: int = 5000, logged_checkpoints: list[dict] | None = None
) -> tuple[int, list[str]]:
    """Recompute the chain and check it against the signed checkpoints (and those copied from the
    application log, if given); return how many entries were checked and a line per break found."""
    problems: list[str] = []
    expected_prev = GENESIS
    checked = 0
    keyed_seen = False
    hashes: dict[int, str] = {}
    wanted = set(AuditCheckpoint.objects.values_list("last_entry_id", flat=True))
    wanted |= {record["last_entry_id"] for record in logged_checkpoints or []}
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        if entry.prev_hash != expected_prev:
            problems.append(
                f"entry {entry.id}: does not follow the entry before it (an entry was removed or reordered)"
            )
        if entry.scheme == AuditEntry.Scheme.SHA256 and keyed_seen:
            problems.append(f"entry {entry.id}: an unkeyed entry after keyed ones (forged)")
        keyed_seen |= entry.scheme == AuditEntry.Scheme.HMAC
        if entry.scheme not in AuditEntry.Scheme.values or not _same(
            entry.compute_hash(), entry.entry_hash
        ):
            problems.append(
                f"entry {entry.id}: its content does not match its hash (it was edited)"
            )
        if entry.id in wanted:
            hashes[entry.id] = entry.entry_hash
        expected_prev = entry.entry_hash

    previous_signature = GENESIS
    stored = {}
    for checkpoint in AuditCheckpoint.objects.order_by("id"):
        stored[checkpoint.id] = checkpoint.signature
        if not _same(checkpoint.compute_signature(), checkpoint.signature):
            problems.append(
                f"checkpoint {checkpoint.id}: its signature is wrong (forged or edited)"
            )
        if checkpoint.prev_signature != previous_signature:
            problems.append(
                f"checkpoint {checkpoint.id}: does not follow the checkpoint before it (one was removed)"
            )
        previous_signature = checkpoint.signature
        problems += _check_head(f"checkpoint {checkpoint.id}", checkpoint, hashes)
    for record in logged_checkpoints or []:
        label = f"logged checkpoint {record['id']}"
        checkpoint = AuditCheckpoint(**record)
        checkpoint.at = datetime.fromisoformat(record["at"])
        if not _same(checkpoint.compute_signature(), checkpoint.signature):
            problems.append(f"{label}: its signature is wrong (not written by this platform)")
            continue
        if stored.get(checkpoint.id) != checkpoint.signature:
            problems.append(f"{label}: missing from the database (checkpoints were removed)")
        problems += _check_head(label, checkpoint, hashes)
    return checked, problems


def _check_head(label: str, checkpoint: AuditCheckpoint, hashes: dict[int, str]) -> list[str]:
    found = hashes.get(checkpoint.last_entry_id)
    if found is None:
        return [
            f"{label}: entry {checkpoint.last_entry_id} is missing (entries were cut from the log)"
        ]
    if found != checkpoint.last_entry_hash:
        return [f"{label}: entry {checkpoint.last_entry_id} is not the one signed (rewritten)"]
    return []


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
