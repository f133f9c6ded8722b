"""The supervision relay: the case events' outbox (shared_apps.ledger, `public`) → the supervision
ledger and its counters (models.py).

One statement per batch, in one transaction: claim up to `batch` unledgered outbox rows
(`published_at IS NULL`, in id order, `FOR UPDATE SKIP LOCKED` so relays running at once take
different rows), copy them into the ledger (`ON CONFLICT (outbox_id) DO NOTHING`), add the rows
actually copied to the day's and the unit's counters, and set `published_at`. A relay killed
mid-batch rolls all of it back and the rows wait for the next run; a row is never counted twice,
because only rows the ledger did not have yet are counted. The notification relay uses
`relayed_at` on the same rows and is not affected.

Run by the `relay_supervision_ledger` job (actors.py), which `run_scheduler` sends.
"""

import time

from django.conf import settings
from django.db import connection, transaction

BATCH = 1000
# The job `run_scheduler` sends (every CASE_NOTICE_INTERVAL_SECONDS) keeps relaying this long,
# polling this often, so the ledger lags the cases by about a poll, not by a scheduler interval.
# One job at a time follows (an advisory lock); one sent meanwhile relays once and ends.
FOLLOW_SECONDS = 9.0
POLL_SECONDS = 0.25
FOLLOW_LOCK = 4_100_000_020

# What an ISO 8601 time with its offset looks like (what the clock snapshots write).
ISO_TIME = r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:?\d\d)?|Z)$"

_COUNT_EXPRESSIONS = {
    "received": "count(*) FILTER (WHERE event = 'submit')",
    "accepted": "count(*) FILTER (WHERE event = 'accept')",
    "completed": "count(*) FILTER (WHERE event = 'decide')",
    "completed_on_time": "count(*) FILTER (WHERE event = 'decide' AND on_time)",
    "yellow": "count(*) FILTER (WHERE event = 'deadline.yellow')",
    "red": "count(*) FILTER (WHERE event = 'deadline.red')",
    "online": "count(*) FILTER (WHERE event = 'submit' AND channel = 'online')",
}
_NAMES = ", ".join(_COUNT_EXPRESSIONS)
_SUMS = ", ".join(_COUNT_EXPRESSIONS.values())


def _added(table: str) -> str:
    return ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in _COUNT_EXPRESSIONS)


RELAY_SQL = f"""
WITH claimed AS (
  SELECT o.id, o.tenant_id, t.code, o.case_public_id, o.case_number, o.event, o.from_state,
    o.to_state, o.at, o.clock, o.implementation_code, o.item_name, o.department_id,
    o.department_name, o.channel, o.applicant_kind,
    -- A malformed time in a clock must not hold the ledger up (it is left out, not guessed).
    CASE WHEN o.clock->>'due_at' ~ %(iso)s
      THEN (o.clock->>'due_at')::timestamptz END AS due_at
  FROM public.ledger_caseeventoutbox o JOIN public.tenants_tenant t ON t.id = o.tenant_id
  WHERE o.published_at IS NULL ORDER BY o.id LIMIT %(batch)s FOR UPDATE OF o SKIP LOCKED
),
published AS (
  UPDATE public.ledger_caseeventoutbox o SET published_at = now()
  FROM claimed c WHERE o.id = c.id RETURNING o.id
),
entered AS (
  INSERT INTO public.supervision_ledgerentry (outbox_id, tenant_id, tenant_code, case_public_id,
    case_number, event, from_state, to_state, at, implementation_code, item_name, department_id,
    department_name, channel, applicant_kind, clock_state, flag, due_at, days_used, on_time,
    ledgered_at)
  SELECT c.id, c.tenant_id, c.code, c.case_public_id, c.case_number, c.event, c.from_state,
    c.to_state, c.at, c.implementation_code, c.item_name, c.department_id, c.department_name,
    c.channel, c.applicant_kind, coalesce(c.clock->>'state', ''), coalesce(c.clock->>'flag', ''),
    c.due_at, CASE WHEN jsonb_typeof(c.clock->'days_used') = 'number'
      THEN (c.clock->>'days_used')::numeric::int END,
    CASE WHEN c.event = 'decide' THEN NOT (coalesce(c.clock->>'flag', '') = 'red'
      OR coalesce(c.at > c.due_at, false)) END,
    now()
  FROM claimed c ORDER BY c.id
  ON CONFLICT (outbox_id) DO NOTHING
  RETURNING tenant_id, tenant_code, implementation_code, item_name, department_id,
    department_name, event, channel, at, on_time
),
daily AS (
  INSERT INTO public.supervision_dailycount AS d (tenant_id, province_code, city_code,
    county_code, implementation_code, item_name, department_id, department_name, day, {_NAMES})
  SELECT tenant_id, rpad(left(tenant_code, 2), 12, '0'), rpad(left(tenant_code, 4), 12, '0'),
    rpad(left(tenant_code, 6), 12, '0'), implementation_code, max(item_name),
    coalesce(department_id, 0), max(department_name), (at AT TIME ZONE %(zone)s)::date, {_SUMS}
  FROM entered
  GROUP BY tenant_id, tenant_code, implementation_code, coalesce(department_id, 0),
    (at AT TIME ZONE %(zone)s)::date
  ORDER BY 1, 5, 7, 9
  ON CONFLICT (tenant_id, implementation_code, department_id, day) DO UPDATE SET {_added("d")},
    item_name = CASE WHEN EXCLUDED.item_name = '' THEN d.item_name ELSE EXCLUDED.item_name END,
    department_name = CASE WHEN EXCLUDED.department_name = '' THEN d.department_name
      ELSE EXCLUDED.department_name END
  RETURNING 1
),
units AS (
  INSERT INTO public.supervision_tenantcount AS u (tenant_id, province_code, city_code,
    county_code, updated_at, {_NAMES})
  SELECT tenant_id, rpad(left(tenant_code, 2), 12, '0'), rpad(left(tenant_code, 4), 12, '0'),
    rpad(left(tenant_code, 6), 12, '0'), now(), {_SUMS}
  FROM entered GROUP BY tenant_id, tenant_code ORDER BY 1
  ON CONFLICT (tenant_id) DO UPDATE SET {_added("u")}, updated_at = EXCLUDED.updated_at
  RETURNING 1
)
SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM entered),
  (SELECT count(*) FROM published), (SELECT count(*) FROM daily), (SELECT count(*) FROM units)
"""


def relay_batch(batch: int = BATCH) -> tuple[int, int]:
    """Ledger one batch: (outbox rows claimed, ledger rows written)."""
    connection.set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RELAY_SQL, {"batch": batch, "zone": settings.TIME_ZONE, "iso": ISO_TIME})
        claimed, entered, *_rest = cursor.fetchone()
    return claimed, entered


def relay(*, batch: int = BATCH, max_batches: int | None = None) -> int:
    """Ledger every unledgered outbox row, `batch` per transaction. Returns how many ledger rows
    were written."""
    written = 0
    done = 0
    while max_batches is None or done < max_batches:
        claimed, entered = relay_batch(batch)
        written += entered
        done += 1
        if claimed < batch:
            break
    return written


def follow(*, seconds: float = FOLLOW_SECONDS, poll: float = POLL_SECONDS, batch: int = BATCH):
    """Relay now, then (if no other job is following) again every `poll` for `seconds`."""
    written = relay(batch=batch)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [FOLLOW_LOCK])
        if not cursor.fetchone()[0]:
            return written
    try:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            time.sleep(poll)
            written += relay(batch=batch)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [FOLLOW_LOCK])
    return written


def lag_seconds() -> float | None:
    """How long the oldest unledgered outbox row has waited (None: none waits)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM now() - min(at)) FROM public.ledger_caseeventoutbox"
            " WHERE published_at IS NULL"
        )
        value = cursor.fetchone()[0]
    return None if value is None else float(value)
