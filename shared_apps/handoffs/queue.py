"""Writing a hand-off, inside the caller's transaction (the case step that causes it): the row
exists exactly when that step committed. The step's own audit entry and case event say who did
it; this adds no entry of its own (like the ledger's outbox)."""

from django.db import transaction

from shared_apps.handoffs.models import Handoff, Kind


def send(*, from_tenant, to_tenant, case, kind: str, payload: dict | None = None) -> Handoff:
    """Queue `kind` for `case` from one unit to another. Must run inside the transaction of the
    step that causes it. `run_scheduler` sends the relay job every CASE_NOTICE_INTERVAL_SECONDS
    (a lost job message delays a hand-off, never loses it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A hand-off is written in the transaction of the step that causes it.")
    if kind not in Kind.values:
        raise ValueError(f"unknown hand-off kind {kind!r}")
    if from_tenant.pk == to_tenant.pk:
        raise ValueError("a hand-off goes to another unit")
    handoff = Handoff.objects.create(
        from_tenant=from_tenant,
        to_tenant=to_tenant,
        case_public_id=case.public_id,
        case_number=case.number or "",
        kind=kind,
        payload=payload or {},
    )
    return handoff
