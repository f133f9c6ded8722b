"""The consultation API of a unit, on its subdomain (互动交流): anyone consults, a signed-in person
also complains or suggests (about an item, one of their cases here, or the unit); the person reads
their own; the staff of the unit answering now list and answer. No pages yet."""

import uuid
from datetime import datetime
from typing import Literal

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from govplatform.errors import ApiError, ErrorCode
from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts.api_auth import TOKEN_OR_SESSION, staff_auth
from shared_apps.accounts.models import Role
from shared_apps.consultations import actions, queries
from shared_apps.consultations.models import Kind
from tenant_apps.cases import queries as case_queries

router = Router(tags=["consultations"])
READERS = (*actions.ANSWERERS, Role.SUPERVISOR)
ConsultationId = Path(description="the consultation's public id")


class AskIn(Schema):
    kind: Literal[tuple(Kind.values)] = Kind.CONSULTATION.value
    subject: str = Field(..., min_length=1, max_length=100)
    question: str = Field(..., min_length=1, max_length=2000)
    implementation_code: str = Field("", max_length=31, description="about this item")
    case_id: uuid.UUID | None = Field(None, description="about this case of mine here")
    publish_consent: bool = Field(False, description="publish the answered question as a Q&A")


class AnswerIn(Schema):
    answer: str = Field(..., min_length=1, max_length=2000)


class ConsultationOut(Schema):
    id: uuid.UUID
    kind: str
    unit: str
    department_name: str
    item_name: str
    case_number: str
    subject: str
    question: str
    asked_at: datetime
    due_at: datetime | None
    escalations: int
    answer: str
    answered_at: datetime | None


def _out(row) -> dict:
    return {
        "id": row.public_id,
        "kind": row.kind,
        "unit": row.tenant.name,
        "department_name": row.department_name,
        "item_name": row.item_name,
        "case_number": row.case_number,
        "subject": row.subject,
        "question": row.question,
        "asked_at": row.asked_at,
        "due_at": row.due_at,
        "escalations": row.escalations,
        "answer": row.answer,
        "answered_at": row.answered_at,
    }


def _page(rows, paging):
    return paged(rows, paging, lambda chunk: [_out(row) for row in chunk])


@router.post("/consultations", response={201: ConsultationOut}, summary="Ask, complain or suggest")
def ask(request, payload: AskIn):
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    case = None
    if payload.case_id is not None:
        among = case_queries.applicant_cases(user) if user else None
        case = case_queries.find(payload.case_id, among=among) if among is not None else None
        if case is None:
            raise ApiError(ErrorCode.NOT_FOUND, _("No such application of yours here."))
    row = actions.ask(
        actor=user,
        kind=payload.kind,
        subject=payload.subject,
        question=payload.question,
        implementation_code=payload.implementation_code,
        case=case,
        publish_consent=payload.publish_consent,
        request=request,
    )
    return Status(201, _out(row))


@router.get(
    "/my/consultations",
    response=page_of(ConsultationOut),
    auth=TOKEN_OR_SESSION,
    summary="What I asked, complained or suggested, and the answers",
)
def my_consultations(request, paging: Query[PageIn]):
    return _page(queries.of_asker(request.user), paging)


@router.get(
    "/consultations",
    response=page_of(ConsultationOut),
    auth=staff_auth("cases:read", *READERS),
    summary="What this unit must answer, and complaints about its cases",
)
def unit_consultations(request, paging: Query[PageIn]):
    return _page(queries.of_unit(request.tenant), paging)


@router.post(
    "/consultations/{consultation_id}/answer",
    response=ConsultationOut,
    auth=staff_auth("cases:write", *actions.ANSWERERS),
    summary="Answer",
)
def answer(request, payload: AnswerIn, consultation_id: uuid.UUID = ConsultationId):
    row = queries.to_answer(request.tenant).filter(public_id=consultation_id).first()
    if row is None:
        raise Http404
    try:
        row = actions.answer(row, actor=request.user, text=payload.answer, request=request)
    except actions.ConsultationConflict as conflict:
        raise ApiError(ErrorCode.CONFLICT, str(conflict)) from None
    return _out(row)
