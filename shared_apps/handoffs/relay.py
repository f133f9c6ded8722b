"""The hand-off relay: applies pending hand-offs (models.Handoff, in `public`) in the receiving
units' schemas, through their case actions (tenant_apps.cases.actions.receive_handoff).

A batch of rows is claimed with `FOR UPDATE SKIP LOCKED`, oldest first, leaving out any row with
an earlier row of the same case for the same unit not yet applied (so each case's hand-offs are
applied in order, and relays running at once never take the same row). A unit's rows of the batch
are applied together in a savepoint (cases.actions.receive_handoffs: a few statements for all the
cases new there), or, if that fails, each in a savepoint of its own to find the rows that fail;
they are marked applied in the batch's transaction: the receiving case's event (with the hand-off
id, unique) and the `applied` mark commit together or not at all. A worker killed, a
connection lost or a broker gone mid-batch leaves the rows pending for the next run; a row whose
effect fails is retried on later runs (attempts, reason) and marked failed after MAX_ATTEMPTS,
holding back the later hand-offs of that case until an operator retries it (actions.retry).

Run by the `relay_handoffs` job, which `run_scheduler` sends every CASE_NOTICE_INTERVAL_SECONDS.
"""

import logging

from django.db import InterfaceError, OperationalError, connection, transaction
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
            # One unit at a time (its rows keep their order; a case has at most one row here), in
            # the order of their ids: relays running at once take the units' audit-chain locks in
            # the same order, so they queue behind each other rather than deadlock.
            by_unit = {}
            for row in rows:
                by_unit.setdefault(row.to_tenant_id, []).append(row)
            for _unit_id, unit_rows in sorted(by_unit.items()):
                unit = unit_rows[0].to_tenant
                if unit.status != Tenant.Status.ACTIVE or unit.provisioned_at is None:
                    for row in unit_rows:
                        _failed(row, f"{unit} accepts no work now ({unit.status}).")
                        failed.append(row.pk)
                    continue
                done += _apply(unit, unit_rows, failed)
            # Marked applied in the transaction of their effects (one statement for the batch).
            Handoff.objects.filter(pk__in=done).update(
                status=Status.APPLIED, applied_at=timezone.now(), attempts=F("attempts") + 1
            )
    finally:
        connection.set_schema_to_public()
    return len(done), len(rows)


def _apply(unit, rows: list[Handoff], failed: list[int]) -> list[int]:
    """Apply one unit's rows: all together in one savepoint (cases.actions.receive_handoffs), or,
    when that fails, each in its own savepoint, so that only the rows that fail are held back."""
    from tenant_apps.cases.actions import receive_handoff, receive_handoffs

    # The unit's search path is set before the savepoints, so that rolling one back never undoes
    # it behind the connection's back.
    connection.set_tenant(unit)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    try:
        with transaction.atomic():
            receive_handoffs(rows)
        return [row.pk for row in rows]
    except (OperationalError, InterfaceError):
        raise  # the connection is gone: the batch is retried whole on the next run
    except Exception as error:  # the failing rows are found, and logged, one by one below
        logger.info("Hand-offs to %s applied one by one: %r", unit.code, error)
    done = []
    for row in rows:
        try:
            with transaction.atomic():
                receive_handoff(row)
            done.append(row.pk)
        except Exception as error:  # logged, retried later; holds up only its case
            logger.exception("Hand-off %s (%s) to %s failed", row.pk, row.kind, unit.code)
            _failed(row, f"{error.__class__.__name__}: {error}")
            failed.append(row.pk)
    return done


def _failed(row: Handoff, reason: str) -> None:
    attempts = row.attempts + 1
    Handoff.objects.filter(pk=row.pk).update(
        attempts=attempts,
        reason=reason[:2000],
        status=Status.FAILED if attempts >= MAX_ATTEMPTS else Status.PENDING,
    )
