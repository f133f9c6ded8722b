"""The hand-off relay: applies pending hand-offs (models.Handoff, in `public`) in the receiving
units' schemas, through their case actions (tenant_apps.cases.actions.receive_handoff).

A batch of rows is claimed with `FOR UPDATE SKIP LOCKED`, oldest first, leaving out any row with
an earlier row of the same case for the same unit not yet applied (so each case's hand-offs are
applied in order, and relays running at once never take the same row). Each row is applied in a
savepoint and marked applied in the batch's transaction: the receiving case's event (with the
hand-off id, unique) and the `applied` mark commit together or not at all. A worker killed, a
connection lost or a broker gone mid-batch leaves the rows pending for the next run; a row whose
effect fails is retried on later runs (attempts, reason) and marked failed after MAX_ATTEMPTS,
holding back the later hand-offs of that case until an operator retries it (actions.retry).

Run by the `relay_handoffs` job, which `run_scheduler` sends every CASE_NOTICE_INTERVAL_SECONDS.
"""

import logging

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.handoffs.models import Handoff, Status

logger = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 5

CLAIM = (
    "SELECT h.id FROM public.handoffs_handoff h"
    " WHERE h.status = 'pending' AND NOT EXISTS ("
    "  SELECT 1 FROM public.handoffs_handoff e"
    "  WHERE e.to_tenant_id = h.to_tenant_id AND e.case_public_id = h.case_public_id"
    "  AND e.id < h.id AND e.status <> 'applied')"
    " AND NOT h.id = ANY(%s)"
    " ORDER BY h.id LIMIT %s FOR UPDATE OF h SKIP LOCKED"
)


def relay(*, batch: int = BATCH) -> int:
    """Apply every pending hand-off that can be, `batch` per transaction. Returns how many were
    applied. A row that fails is tried again on the next run, not in this one."""
    done, failed = 0, []
    while True:
        applied, claimed = _relay_batch(batch, failed)
        done += applied
        if claimed == 0 or applied == 0:
            return done


def _relay_batch(batch: int, failed: list[int]) -> tuple[int, int]:
    from tenant_apps.cases.actions import receive_handoff
    from tenants.models import Tenant

    connection.set_schema_to_public()
    done = []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(CLAIM, [failed, batch])
                ids = [row[0] for row in cursor.fetchall()]
            rows = list(
                Handoff.objects.select_related("to_tenant").filter(id__in=ids).order_by("id")
            )
            for row in rows:
                unit = row.to_tenant
                if unit.status != Tenant.Status.ACTIVE or unit.provisioned_at is None:
                    _failed(row, f"{unit} accepts no work now ({unit.status}).")
                    failed.append(row.pk)
                    continue
                # The unit's search path is set before the savepoint (once for a run of rows
                # to the same unit), so that rolling the savepoint back never undoes it behind
                # the connection's back.
                if getattr(connection.tenant, "pk", None) != unit.pk:
                    connection.set_tenant(unit)
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT 1")
                try:
                    with transaction.atomic():
                        receive_handoff(row)
                    done.append(row.pk)
                except Exception as error:  # logged, retried later; holds up only its case
                    logger.exception("Hand-off %s (%s) to %s failed", row.pk, row.kind, unit.code)
                    _failed(row, f"{error.__class__.__name__}: {error}")
                    failed.append(row.pk)
            # Marked applied in the transaction of their effects (one statement for the batch).
            Handoff.objects.filter(pk__in=done).update(
                status=Status.APPLIED, applied_at=timezone.now(), attempts=F("attempts") + 1
            )
    finally:
        connection.set_schema_to_public()
    return len(done), len(rows)


def _failed(row: Handoff, reason: str) -> None:
    attempts = row.attempts + 1
    Handoff.objects.filter(pk=row.pk).update(
        attempts=attempts,
        reason=reason[:2000],
        status=Status.FAILED if attempts >= MAX_ATTEMPTS else Status.PENDING,
    )
