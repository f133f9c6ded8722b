"""Writing to the ledger's outbox and drawing case numbers, inside the caller's transaction."""

from django.db import connection
from django.utils import timezone

from shared_apps.ledger.models import CaseEventOutbox


def record_case_event(
    *,
    tenant,
    case,
    event: str,
    from_state: str,
    to_state: str,
    clock: dict,
    notify_applicant: bool = False,
    notify_staff: bool = False,
    at=None,
    reason: str = "",
    details: dict | None = None,
) -> CaseEventOutbox:
    """One outbox row for a step of `case`. The applicant, proxy agent and item are taken from
    the case; `reason` and `details` (the step's own, as on its CaseEvent) are what the notice
    to the applicant says (the corrections asked, the decision, the days of an extension)."""
    row = outbox_row(
        tenant=tenant,
        case=case,
        event=event,
        from_state=from_state,
        to_state=to_state,
        clock=clock,
        notify_applicant=notify_applicant,
        notify_staff=notify_staff,
        at=at,
        reason=reason,
        details=details,
    )
    row.save(force_insert=True)
    return row


def outbox_row(
    *,
    tenant,
    case,
    event: str,
    from_state: str,
    to_state: str,
    clock: dict,
    notify_applicant: bool = False,
    notify_staff: bool = False,
    at=None,
    reason: str = "",
    details: dict | None = None,
) -> CaseEventOutbox:
    """The outbox row of record_case_event, unsaved (a batch writes many with one INSERT)."""
    given = {**(details or {})}
    if reason:
        given["reason"] = reason
    return CaseEventOutbox(
        tenant=tenant,
        case_number=case.number or "",
        case_public_id=case.public_id,
        event=event,
        from_state=from_state,
        to_state=to_state,
        at=at or timezone.now(),
        clock=clock,
        notify_applicant=notify_applicant,
        notify_staff=notify_staff,
        applicant_id=getattr(case, "applicant_id", None),
        proxy_agent_id=getattr(case, "proxy_agent_id", None),
        item_name=(getattr(case, "item_name", "") or "")[:200],
        details=given,
        **supervision_fields(case),
    )


def supervision_fields(case) -> dict:
    """What the supervision ledger needs of the case besides the step (no personal data)."""
    return {
        "implementation_code": (getattr(case, "implementation_code", "") or "")[:31],
        "department_id": getattr(case, "department_id", None),
        "department_name": (getattr(case, "department_name", "") or "")[:100],
        "channel": (getattr(case, "channel", "") or "")[:10],
        "applicant_kind": "organisation" if getattr(case, "organisation_id", None) else "person",
    }


def next_sequence(implementation_code: str, day) -> int:
    """The next case sequence number of an implementation on a day. The counter row is locked
    until the caller's transaction ends, so concurrent submissions get distinct numbers one after
    the other; a transaction that rolls back takes its increment back with it (no case ever
    carried that number), and a committed number is never given again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.ledger_casenumbercounter AS counter (implementation_code, day, last)"
            " VALUES (%s, %s, 1) ON CONFLICT (implementation_code, day)"
            " DO UPDATE SET last = counter.last + 1 RETURNING counter.last",
            [implementation_code, day],
        )
        return cursor.fetchone()[0]


def watch_deadline(tenant, at) -> None:
    """A clock in this unit will need marking at `at` (yellow or due), or now (due times unknown):
    bring the unit's next deadline run forward, inside the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.ledger_deadlinewatch AS w"
            " (tenant_id, next_mark_at, changes, running, clock_errors)"
            " VALUES (%s, %s, 1, 0, 0) ON CONFLICT (tenant_id) DO UPDATE SET"
            " next_mark_at = LEAST(w.next_mark_at, EXCLUDED.next_mark_at),"
            " changes = w.changes + 1",
            [tenant.pk, at],
        )
