"""The notification relay: the ledger's outbox (shared_apps.ledger, in `public`) → inbox messages
(and through them e-mail and SMS, shared_apps.notifications).

Each outbox row that tells someone (`notify_applicant`: a step the applicant must know of;
`notify_staff`: a case marked yellow or red) becomes messages exactly once: a relay claims a
batch of unrelayed rows with `FOR UPDATE SKIP LOCKED`, writes the messages and sets `relayed_at`
in the same transaction. Two relays racing take different rows (a row another relay committed
meanwhile no longer matches); a relay killed mid-batch rolls back, and the rows wait for the
next run. The e-mail and SMS of a message are queued when that transaction commits and sent by
their own jobs, retried there: a failing SMTP server or gateway never holds the relay or the case.

Run by the `relay_case_notices` job, which `run_scheduler` sends every
CASE_NOTICE_INTERVAL_SECONDS.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from shared_apps.accounts.models import StaffMembership, User
from shared_apps.ledger.models import CaseEventOutbox
from shared_apps.notifications.inbox import notify
from tenant_apps.cases import clock, transitions
from tenant_apps.cases.models import Case, Decision, Delivery
from tenants.links import tenant_url

logger = logging.getLogger(__name__)

BATCH = 200
ACTOR = "system:case-notices"
# Outbox event → kind of message to the applicant (and their proxy agent).
APPLICANT_KINDS = {
    "submit": "case_submitted",
    "accept": "case_accepted",
    "reject": "case_not_accepted",
    "request_corrections": "case_corrections_requested",
    "decide": "case_decided",
    # 并联审批 stopped by a department's refusal: the case is decided (refused).
    "stop_parallel": "case_decided",
    "deliver": "case_delivered",
    "suspend": "case_suspended",
    "resume": "case_resumed",
    "extend": "case_extended",
    "withdraw": "case_withdrawn",
}
STAFF_KINDS = {"deadline.yellow": "case_deadline_yellow", "deadline.red": "case_deadline_red"}


def relay(*, batch: int = BATCH) -> int:
    """Relay every unrelayed outbox row that tells someone, `batch` rows per transaction. Returns
    how many rows were relayed. A row that fails (logged) stays for the next run and holds up
    nothing else."""
    done = 0
    while True:
        relayed, claimed = _relay_batch(batch)
        done += relayed
        if claimed < batch or relayed == 0:
            return done


def _relay_batch(batch: int) -> tuple[int, int]:
    connection.set_schema_to_public()
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        rows = list(
            CaseEventOutbox.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .filter(relayed_at__isnull=True)
            .filter(Q(notify_applicant=True) | Q(notify_staff=True))
            .order_by("id")[:batch]
        )
        relayed = []
        for row in rows:
            try:
                with transaction.atomic():
                    _relay_row(row)
            except Exception:
                logger.exception(
                    "Outbox row %s (%s) not relayed; tried again next run", row.pk, row
                )
            else:
                relayed.append(row.pk)
            finally:
                connection.set_schema_to_public()
        if relayed:
            CaseEventOutbox.objects.filter(pk__in=relayed).update(relayed_at=timezone.now())
    return len(relayed), len(rows)


def _day(iso: str | None) -> str:
    if not iso:
        return _("not known yet")
    return date_format(clock.local_day(datetime.fromisoformat(iso)), "DATE_FORMAT")


def _relay_row(row: CaseEventOutbox) -> None:
    if row.notify_applicant:
        kind = APPLICANT_KINDS.get(row.event)
        if kind is None:
            logger.warning("Outbox row %s: no notice for event %r", row.pk, row.event)
        else:
            _tell_applicant(row, kind)
    if row.notify_staff:
        kind = STAFF_KINDS.get(row.event)
        if kind is None:
            logger.warning("Outbox row %s: no staff notice for event %r", row.pk, row.event)
        else:
            _tell_staff(row, kind)


def applicant_context(row: CaseEventOutbox) -> dict:
    details = row.details or {}
    context = {
        "number": row.case_number,
        "item": row.item_name,
        "unit": row.tenant.name,
        "due": _day(row.clock.get("due_at")),
        "reason": details.get("reason", "") or _("none given"),
    }
    if row.event == "request_corrections":
        items = details.get("items") or []
        context["items"] = "；".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    elif row.event in ("decide", "stop_parallel"):
        decision = details.get("decision", "")
        context["decision"] = Decision(decision).label if decision in Decision.values else decision
    elif row.event == "deliver":
        method = details.get("method", "")
        context["method"] = Delivery(method).label if method in Delivery.values else method
        # The SMS invites a rating by reply: the reply is mapped back to the case through it.
        context["case"] = str(row.case_public_id)
    elif row.event == "extend":
        context["days"] = details.get("days", "")
    return context


def _tell_applicant(row: CaseEventOutbox, kind: str) -> None:
    people = [pk for pk in (row.applicant_id, row.proxy_agent_id) if pk]
    if not people:
        logger.warning("Outbox row %s names no applicant: nobody told", row.pk)
        return
    context = applicant_context(row)
    link = tenant_url(row.tenant, f"/my/cases/{row.case_public_id}")
    for person in User.objects.filter(pk__in=people).order_by("pk"):
        notify(person, kind, context, actor=ACTOR, link=link, tenant=row.tenant)


def responsible_roles(state: str) -> set[str]:
    """The staff roles that can move a case on from `state` (the transition table's)."""
    roles = set()
    for move in transitions.MOVES:
        if move.state == state:
            roles |= move.roles & transitions.STAFF_ROLES
    return roles


def _tell_staff(row: CaseEventOutbox, kind: str) -> None:
    connection.set_tenant(row.tenant)
    case = Case.objects.filter(public_id=row.case_public_id).first()
    connection.set_schema_to_public()
    if case is None:
        logger.warning(
            "Outbox row %s: case %s not found in %s", row.pk, row.case_public_id, row.tenant
        )
        return
    roles = responsible_roles(case.state)
    staff = (
        User.objects.filter(
            is_active=True,
            memberships__in=StaffMembership.objects.filter(
                tenant=row.tenant, is_active=True, role__in=roles
            ).filter(Q(department_id__isnull=True) | Q(department_id=case.department_id)),
        )
        .distinct()
        .order_by("pk")
    )
    context = {
        "number": row.case_number,
        "item": case.item_name,
        "due": _day(row.clock.get("due_at")),
    }
    link = tenant_url(row.tenant, f"/workbench/cases/{row.case_public_id}")
    for person in staff:
        notify(person, kind, context, actor=ACTOR, link=link, tenant=row.tenant)
