"""Consultations, complaints and suggestions (互动交流, issue 14 item 3), in `public`: written to a
unit, about an item or a case, routed to the unit and department responsible, answered within
CONSULTATION_ANSWER_DAYS working days, and passed to the unit above when overdue. One table for
the province, so routing and escalation never read a unit's schema."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")


class Consultation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # The unit answering now (the one routed to, or the unit above after an escalation).
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    # The unit routed to first (a complaint about a case stays visible to it and its supervisors).
    routed_to = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    department_id = models.BigIntegerField(null=True, blank=True)
    department_name = models.CharField(max_length=100, blank=True)
    implementation_code = models.CharField(max_length=31, blank=True)
    item_name = models.CharField(max_length=200, blank=True)
    case_public_id = models.UUIDField(null=True, blank=True)
    case_number = models.CharField(max_length=50, blank=True)
    # None: asked without signing in (consultations only).
    asker_id = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=100)
    question = models.TextField()
    # The asker agrees that the answered question is published as a public Q&A.
    publish_consent = models.BooleanField(default=False)
    asked_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    answer = models.TextField(blank=True)
    answered_by_id = models.BigIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_on_time = models.BooleanField(null=True)

    class Meta:
        verbose_name = _("consultation")
        indexes = [
            models.Index(fields=["tenant", "answered_at", "due_at"], name="consult_queue"),
            models.Index(
                fields=["due_at"], condition=models.Q(answered_at__isnull=True), name="consult_open"
            ),
            models.Index(fields=["asker_id", "-asked_at"], name="consult_asker"),
        ]

    def __str__(self):
        return f"{self.kind} {self.public_id}"
