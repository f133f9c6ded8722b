"""Reads of the audit log: verifying its chains against their signed checkpoints."""

import hmac
from datetime import datetime

from shared_apps.audit.actions import GENESIS
from shared_apps.audit.models import AuditCheckpoint, AuditEntry


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
