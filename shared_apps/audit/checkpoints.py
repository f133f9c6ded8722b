"""Signed checkpoints of the audit chains' heads: kept in their own append-only table and copied
to the application log, so that entries cut from the end of a chain are detected
(`manage.py audit_checkpoint`, `manage.py verify_audit_chain --checkpoints LOG`)."""

import json
import logging
from pathlib import Path

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from shared_apps.audit.actions import GENESIS
from shared_apps.audit.models import AuditCheckpoint, AuditEntry

# Writers hold this advisory lock shared (in audit_chain_next()), a checkpoint holds it
# exclusively: while it reads the heads no entry is in flight.
_CHECKPOINT_GATE = 4_100_000_002
CHECKPOINT_WAIT = "2s"  # a checkpoint never holds writers up longer than this
CHECKPOINT_LOG_PREFIX = "audit-checkpoint "
checkpoint_log = logging.getLogger("audit.checkpoint")


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
