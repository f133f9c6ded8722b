"""Reads of the audit log (the only write, appending, is `actions.record_audit`)."""

from shared_apps.audit.actions import GENESIS
from shared_apps.audit.models import AuditEntry


def verify_chain(batch_size: int = 5000) -> tuple[int, list[str]]:
    """Recompute the chain; return how many entries were checked and a line per break found."""
    problems: list[str] = []
    expected_prev = GENESIS
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        if entry.prev_hash != expected_prev:
            problems.append(
                f"entry {entry.id}: does not follow the entry before it (an entry was removed or reordered)"
            )
        if entry.compute_hash() != entry.entry_hash:
            problems.append(
                f"entry {entry.id}: its content does not match its hash (it was edited)"
            )
        expected_prev = entry.entry_hash
    return checked, problems
