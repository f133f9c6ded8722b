"""Reads of consultations."""

from django.db.models import Q

from shared_apps.consultations.models import Consultation, Kind


def of_asker(user):
    return (
        Consultation.objects.filter(asker_id=user.pk)
        .select_related("tenant")
        .order_by("-asked_at", "-id")
    )


def to_answer(tenant):
    """What the unit answers now (routed to it, or passed up to it)."""
    return Consultation.objects.filter(tenant=tenant).select_related("tenant")


def of_unit(tenant):
    """What the unit answers now, and complaints about its cases passed up (its supervisors see
    them), unanswered first."""
    return (
        Consultation.objects.filter(
            Q(tenant=tenant)
            | Q(routed_to=tenant, kind=Kind.COMPLAINT, case_public_id__isnull=False)
        )
        .select_related("tenant")
        .order_by("-answered_at", "due_at", "-id")
    )
