import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

from shared_apps.audit.models import AuditCheckpoint, AuditEntry

GENESIS = "0" * 64
# Writers hold this advisory lock shared, a checkpoint holds it exclusively: while it reads the
# heads no entry is in flight. Writers also take pg_advisory_xact_lock(410002, hashtext(tenant
# code)), one writer per chain at a time: both in audit_chain_next() (migration 0003).
_CHECKPOINT_GATE = 4_100_000_002
CHECKPOINT_WAIT = "2s"  # a checkpoint never holds writers up longer than this
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
        actor=_text(who.name)[:150],
        actor_user=who.user,
        actor_client=who.client,
        on_behalf_of=_text(on_behalf_of)[:150],
        tenant_code=getattr(tenant, "code", "") or "",
        action=_text(action)[:100],
        target=_text(target)[:300],
        data=_storable(data or {}),
        ip_address=client_ip(request),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Takes the locks, reads the chain's newest hash and draws the id the hash covers.
        cursor.execute("SELECT prev_hash, next_id FROM audit_chain_next(%s)", [entry.tenant_code])
        prev_hash, entry.id = cursor.fetchone()
        entry.prev_hash = prev_hash or GENESIS
        entry.entry_hash = entry.compute_hash()
        entry.save(force_insert=True)
    return entry


def _text(value) -> str:
    # PostgreSQL text can't hold NUL: typed input (a sign-in name) must not make the audit fail.
    return str(value).replace("\x00", "\ufffd")


def _storable(value):
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


class CheckpointBusy(Exception):
    """Writers kept the log busy for longer than CHECKPOINT_WAIT: try again at the next round."""


def write_checkpoint() -> AuditCheckpoint | None:
    """Sign the heads of the chains that grew into the checkpoint table and the application log
    (`audit-checkpoint {...}` lines). Run regularly (`manage.py audit_checkpoint`): entries newer
    than the last checkpoint are the only ones a cut can remove unnoticed. Not itself audited: the
    checkpoint is the audit log's own record. Call it outside a transaction: writers wait for it
    until it commits. Returns the newest checkpoint (None: empty log)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{CHECKPOINT_WAIT}'")
            # Exclusive: every entry whose id was drawn is committed (or rolled back) by now.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHECKPOINT_GATE])
            previous = AuditCheckpoint.objects.order_by("-id").first()
            cursor.execute(
                "SELECT DISTINCT ON (tenant_code) tenant_code, id, entry_hash "
                "FROM audit_auditentry WHERE id > %s AND scheme = %s ORDER BY tenant_code, id DESC",
                [previous.last_entry_id if previous else 0, AuditEntry.Scheme.HMAC],
            )
            heads = {code: [id_, hash_] for code, id_, hash_ in cursor.fetchall()}
            if not heads:
                return previous
            cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_auditcheckpoint', 'id'))")
            checkpoint = AuditCheckpoint(
                id=cursor.fetchone()[0],
                at=timezone.now(),
                last_entry_id=max(id_ for id_, _hash in heads.values()),
                heads=heads,
                prev_signature=previous.signature if previous else GENESIS,
            )
            checkpoint.signature = checkpoint.compute_signature()
            checkpoint.save(force_insert=True)
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise CheckpointBusy(str(error)) from error
        raise
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
    """Recompute every chain and check it against the signed checkpoints (and those copied from the
    application log, if given); return how many entries were checked and a line per break found."""
    problems: list[str] = []
    signed = _signed_heads(problems, logged_checkpoints or [])
    legacy_prev = GENESIS  # the entries of before the keyed chains form one chain
    prev_by_chain: dict[str, str] = {}
    keyed_seen = False
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        legacy = entry.scheme == AuditEntry.Scheme.SHA256
        expected_prev = legacy_prev if legacy else prev_by_chain.get(entry.tenant_code, GENESIS)
        if entry.prev_hash != expected_prev:
            problems.append(
                f"entry {entry.id}: does not follow the entry before it (an entry was removed or reordered)"
            )
        if legacy and keyed_seen:
            problems.append(f"entry {entry.id}: an unkeyed entry after keyed ones (forged)")
        keyed_seen |= not legacy
        if entry.scheme not in AuditEntry.Scheme.values or not _same(
            entry.compute_hash(), entry.entry_hash
        ):
            problems.append(
                f"entry {entry.id}: its content does not match its hash (it was edited)"
            )
        if legacy:
            legacy_prev = entry.entry_hash
        else:
            prev_by_chain[entry.tenant_code] = entry.entry_hash
        head = signed.get(entry.id)
        if head is not None:
            label, code, signed_hash = head
            if code != entry.tenant_code or signed_hash != entry.entry_hash:
                problems.append(f"{label}: entry {entry.id} is not the one signed (rewritten)")
            del signed[entry.id]
    for entry_id, (label, code, _hash) in sorted(signed.items()):
        problems.append(
            f"{label}: entry {entry_id} of chain {code or 'province'} is missing "
            "(entries were cut from the log)"
        )
    return checked, problems


def _signed_heads(problems: list[str], logged: list[dict]) -> dict[int, tuple[str, str, str]]:
    """Check the checkpoints' signatures and sequence; return the newest signed head of each chain
    by entry id: (which checkpoint, chain, hash). A chain intact up to its newest signed head is
    intact up to every earlier one."""
    newest: dict[str, tuple[int, str, str]] = {}

    def take(label: str, checkpoint: AuditCheckpoint) -> None:
        for code, (entry_id, entry_hash) in checkpoint.heads.items():
            if code not in newest or newest[code][0] < entry_id:
                newest[code] = (entry_id, label, entry_hash)

    previous_signature = GENESIS
    stored = {}
    for checkpoint in AuditCheckpoint.objects.order_by("id"):
        label = f"checkpoint {checkpoint.id}"
        stored[checkpoint.id] = checkpoint.signature
        if checkpoint.prev_signature != previous_signature:
            problems.append(f"{label}: does not follow the checkpoint before it (one was removed)")
        previous_signature = checkpoint.signature
        if not _same(checkpoint.compute_signature(), checkpoint.signature):
            problems.append(f"{label}: its signature is wrong (forged or edited)")
            continue
        take(label, checkpoint)
    for record in logged:
        label = f"logged checkpoint {record.get('id')}"
        try:
            checkpoint = AuditCheckpoint(**record)
            checkpoint.at = datetime.fromisoformat(record["at"])
            valid = _same(checkpoint.compute_signature(), checkpoint.signature)
        except (TypeError, KeyError, ValueError):
            valid = False
        if not valid:
            problems.append(f"{label}: its signature is wrong (not written by this platform)")
            continue
        if stored.get(checkpoint.id) != checkpoint.signature:
            problems.append(f"{label}: missing from the database (checkpoints were removed)")
        take(label, checkpoint)
    return {entry_id: (label, code, h) for code, (entry_id, label, h) in newest.items()}


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
