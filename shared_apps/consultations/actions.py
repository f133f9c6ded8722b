"""Every write of a consultation, complaint or suggestion: asking (routed by case, item or place),
answering, and passing overdue ones to the unit above. Each one transaction with one audit entry
(the sweep: one for all it moved)."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts import authz
from shared_apps.accounts.models import Role
from shared_apps.audit.actions import Actor, record_audit
from shared_apps.catalog.models import Implementation
from shared_apps.consultations.models import Consultation, Kind
from tenant_apps.cases import clock
from tenant_apps.cases.validation import clean_text
from tenant_apps.departments.queries import current_tenant

ANONYMOUS = "anonymous:web"
ANSWERERS = frozenset({Role.WINDOW_CLERK, Role.DEPARTMENT_HEAD, Role.TENANT_ADMIN})
SWEEP_BATCH = 1000


class ConsultationConflict(Exception):
    """Answered already (409)."""


def _due(start: datetime) -> datetime | None:
    try:
        day = clock.add_working_days(clock.local_day(start), settings.CONSULTATION_ANSWER_DAYS)
    except clock.CalendarNotCovered:
        return None  # not marked overdue until the calendar covers the year; never a guess
    return clock.end_of(day)


def ask(
    *,
    actor,
    kind: str,
    subject: str,
    question: str,
    implementation_code: str = "",
    case=None,
    publish_consent: bool = False,
    request=None,
) -> Consultation:
    """Write to the unit of the request: about one of the asker's cases there (routed to the
    case's department), about an item (routed to the unit and department implementing it), or
    to the unit itself. Anyone may consult; complaints and suggestions need a signed-in person."""
    who = Actor.of(actor) if actor is not None else Actor(label=ANONYMOUS)
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Choose consultation, complaint or suggestion.")]})
    if who.user is None and kind != Kind.CONSULTATION:
        raise PermissionDenied(_("Sign in to complain or suggest."))
    subject = clean_text(subject, "subject", required=True, max_length=100)
    question = clean_text(question, "question", required=True, max_length=2000)
    here = current_tenant()
    routed = {"tenant": here, "department_id": None, "department_name": ""}
    if case is not None:
        if who.user is None or who.user.pk != case.applicant_id:
            raise PermissionDenied(_("Only the applicant writes about a case."))
        routed.update(
            department_id=case.department_id,
            department_name=case.department_name,
            implementation_code=case.implementation_code,
            item_name=case.item_name,
            case_public_id=case.public_id,
            case_number=case.number or "",
        )
    elif implementation_code:
        implementation = (
            Implementation.objects.filter(
                code=implementation_code, status=Implementation.Status.PUBLISHED
            )
            .select_related("tenant", "item")
            .first()
        )
        if implementation is None:
            raise ValidationError({"implementation_code": [_("No such service.")]})
        routed.update(
            tenant=implementation.tenant,
            department_id=implementation.department_id,
            department_name=implementation.department_name,
            implementation_code=implementation.code,
            item_name=implementation.item.name,
        )
    now = timezone.now()
    with transaction.atomic():
        consultation = Consultation.objects.create(
            kind=kind,
            routed_to=routed["tenant"],
            asker_id=who.user.pk if who.user else None,
            subject=subject,
            question=question,
            publish_consent=bool(publish_consent),
            asked_at=now,
            due_at=_due(now),
            **routed,
        )
        record_audit(
            actor=who,
            action="consultations.ask",
            target=str(consultation.public_id),
            tenant=consultation.tenant,
            data={"kind": kind, "routed_to": consultation.tenant.code},
            request=request,
        )
    return consultation


def answer(consultation: Consultation, *, actor, text: str, request=None) -> Consultation:
    """The unit answering now replies (its clerks, department heads and administrators)."""
    who = Actor.of(actor)
    text = clean_text(text, "answer", required=True, max_length=2000)
    with transaction.atomic():
        locked = (
            Consultation.objects.select_for_update()
            .select_related("tenant")
            .get(pk=consultation.pk)
        )
        if not (authz.roles_in(who.user, locked.tenant) & ANSWERERS):
            raise PermissionDenied(_("You may not answer for this unit."))
        if locked.answered_at is not None:
            raise ConsultationConflict(_("This has been answered already."))
        now = timezone.now()
        locked.answer, locked.answered_by_id, locked.answered_at = text, who.user.pk, now
        locked.answered_on_time = locked.due_at is None or now <= locked.due_at
        locked.save()
        record_audit(
            actor=who,
            action="consultations.answer",
            target=str(locked.public_id),
            tenant=locked.tenant,
            data={"on_time": locked.answered_on_time},
            request=request,
        )
    return locked


def escalate_overdue(*, actor="system:consultations", at=None) -> int:
    """Pass every unanswered, overdue one to the unit above its current unit, with a new time
    limit there (a province-level one stays). Audited once, in the province's chain, when any
    moved."""
    at = at or timezone.now()
    with transaction.atomic():
        overdue = list(
            Consultation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .filter(answered_at__isnull=True, due_at__lte=at, tenant__parent__isnull=False)
            .order_by("due_at")[:SWEEP_BATCH]
        )
        for row in overdue:
            row.tenant_id = row.tenant.parent_id
            row.department_id, row.department_name = None, ""
            row.due_at = _due(at)
            row.escalations += 1
        Consultation.objects.bulk_update(
            overdue, ["tenant", "department_id", "department_name", "due_at", "escalations"]
        )
        if overdue:
            record_audit(
                actor=actor, action="consultations.escalated", data={"count": len(overdue)}
            )
    return len(overdue)
