"""The case API (办件) of a unit, on its subdomain: the applicant's side under /my/cases, the staff's
side under /cases. Every intent is its own endpoint calling one action; reads page with totals.

Every intent takes an `Idempotency-Key` header: the first reply is stored with the key (per actor)
in the transaction that applied the intent, and a retry with the same key gets that reply and
never applies the intent twice; a retry running at the same time waits for the first one.
"""

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import File, Form, Header, Path, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import Field, field_validator

from govplatform.errors import ApiError, ErrorCode
from govplatform.paging import PageIn, page_of, paged
from govplatform.uploads import UploadRefused, uploaded_file
from shared_apps.accounts import authz
from shared_apps.accounts.api_auth import TOKEN_OR_SESSION, staff_auth
from shared_apps.accounts.identity import id_number_digests, normalize_id_number
from shared_apps.accounts.models import Role, User
from shared_apps.catalog.models import Bundle, Implementation
from shared_apps.ledger.models import IntentKey
from tenant_apps.cases import actions, queries, transitions
from tenant_apps.cases.actions import SUSPENSION_GROUNDS
from tenant_apps.cases.models import Case, Decision, Delivery, ParallelTask, State, TaskState

router = Router(tags=["cases"])
applicant_router = Router(tags=["my cases"])

FORM_DATA_MAX_BYTES = 64 * 1024
FORM_DATA_MAX_DEPTH = 16
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,100}", re.ASCII)
STAFF_WRITERS = (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
STAFF_READERS = (*STAFF_WRITERS, Role.SUPERVISOR, Role.TENANT_ADMIN)
STATE_FILTER = Query(None)
CaseId = Path(description="the case's public id")
IdempotencyKey = Header(
    None,
    alias="Idempotency-Key",
    max_length=100,
    description="Any unique string (1–100 printable ASCII characters): a retry with the same key "
    "gets the first reply and never applies the intent twice.",
)


# --- schemas ----------------------------------------------------------------------------------


class ClockOut(Schema):
    state: str
    days_used: int
    promised_days: int
    statutory_days: int
    extension_days: int
    due_at: datetime | None
    statutory_due_at: datetime | None
    yellow_at: datetime | None
    flag: str
    error: str


class CaseSummary(Schema):
    id: uuid.UUID
    number: str | None
    item_name: str
    implementation_code: str
    department_name: str
    state: State
    state_label: str
    channel: str
    submitted_at: datetime | None
    due_at: datetime | None
    flag: str


class CaseOut(CaseSummary):
    applicant_id: int
    organisation_id: int | None
    proxy_agent_id: int | None
    guide_version_id: int
    form_data: dict
    materials: list[dict]
    corrections: list[str]
    clock: ClockOut
    decision: str
    decision_reasons: str
    decision_legal_basis: str
    delivery_method: str
    delivery_details: str
    created_at: datetime
    accepted_at: datetime | None
    decided_at: datetime | None
    closed_at: datetime | None
    # What the caller may do now.
    intents: list[str]


class EventOut(Schema):
    at: datetime
    intent: str
    from_state: str
    to_state: str
    actor: str
    role: str
    channel: str
    reason: str
    details: dict


def _bounded_form(value: dict | None) -> dict | None:
    if value is None:
        return value
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= FORM_DATA_MAX_DEPTH:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    if deepest > FORM_DATA_MAX_DEPTH:
        raise ValueError(_("The form data are nested too deeply."))
    if len(json.dumps(value, ensure_ascii=False).encode()) > FORM_DATA_MAX_BYTES:
        raise ValueError(_("The form data are too large."))
    return value


class MaterialIn(Schema):
    material_id: int = Field(ge=1, le=2**63 - 1, description="a material of the item's guide")
    kind: Literal["upload", "form_section", "reused"]
    file_id: str | None = Field(None, max_length=200, description="upload: the stored file's id")
    sha256: str | None = Field(None, max_length=64, description="upload: the file's SHA-256")
    result_case_number: str | None = Field(
        None, max_length=50, description="reused: the earlier case whose result is reused"
    )


class FilingIn(Schema):
    form_data: dict | None = Field(
        None,
        description=f"answers to the item's form, at most {FORM_DATA_MAX_BYTES} bytes and "
        f"{FORM_DATA_MAX_DEPTH} levels",
    )
    materials: list[MaterialIn] | None = Field(None, max_length=100)

    @field_validator("form_data")
    @classmethod
    def _bounded(cls, value: dict | None) -> dict | None:
        return _bounded_form(value)

    def filing(self) -> dict:
        return {
            "form_data": self.form_data,
            "materials": None
            if self.materials is None
            else [m.dict(exclude_none=True) for m in self.materials],
        }


class DraftIn(FilingIn):
    implementation_code: str = Field(min_length=31, max_length=31)


class HallDraftIn(DraftIn):
    citizen_id_number: str = Field(max_length=40, description="the applicant at the window")


class ReasonsIn(Schema):
    reasons: str = Field(min_length=1, max_length=2000)


class CorrectionsIn(Schema):
    items: list[str] = Field(min_length=1, max_length=50, description="everything to correct")

    @field_validator("items")
    @classmethod
    def _short(cls, items: list[str]) -> list[str]:
        if any(len(item) > 500 for item in items):
            raise ValueError(_("At most %(count)s characters.") % {"count": 500})
        return items


class DecideIn(Schema):
    decision: Decision
    reasons: str = Field("", max_length=2000)
    legal_basis: str = Field(min_length=1, max_length=2000)


class DeliverIn(Schema):
    method: Delivery
    details: str = Field("", max_length=300, description="post: the address or tracking number")


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class RequiredReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class SuspendIn(Schema):
    ground: Literal[tuple(SUSPENSION_GROUNDS)]
    reason: str = Field(min_length=1, max_length=2000)


class ExtendIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)
    days: int = Field(actions.EXTENSION_DAYS, ge=1, le=actions.MAX_EXTENSION_DAYS)
    legal_basis: str = Field("", max_length=2000)


# --- helpers ----------------------------------------------------------------------------------


def _actor(request):
    token = getattr(request, "api_token", None)
    if token is not None and token.client is not None:
        return token
    return request.user


def _actor_key(request) -> str:
    token = getattr(request, "api_token", None)
    if token is not None and token.client is not None:
        return f"client:{token.client.client_id}"[:60]
    return f"user:{request.user.pk}"


def _intents(request, case: Case) -> list[str]:
    roles = set()
    user = request.user
    if getattr(user, "is_authenticated", False):
        roles = authz.roles_in(user, request.tenant) & transitions.STAFF_ROLES
        if user.pk == case.applicant_id:
            roles.add(transitions.APPLICANT)
        if user.pk == case.proxy_agent_id:
            roles.add(transitions.PROXY_AGENT)
    elif getattr(getattr(request, "api_token", None), "client", None) is not None:
        roles = set(transitions.STAFF_ROLES)
    return transitions.intents_for(case.state, roles)


def _summary(case: Case) -> dict:
    return {
        "id": case.public_id,
        "number": case.number,
        "item_name": case.item_name,
        "implementation_code": case.implementation_code,
        "department_name": case.department_name,
        "state": case.state,
        "state_label": str(State(case.state).label),
        "channel": case.channel,
        "submitted_at": case.submitted_at,
        "due_at": case.due_at,
        "flag": case.deadline_flag,
    }


def _case_out(request, case: Case) -> dict:
    from tenant_apps.cases import clock

    snapshot = clock.snapshot(case)
    return {
        **_summary(case),
        "applicant_id": case.applicant_id,
        "organisation_id": case.organisation_id,
        "proxy_agent_id": case.proxy_agent_id,
        "guide_version_id": case.guide_version_id,
        "form_data": case.form_data,
        "materials": case.materials,
        "corrections": case.corrections,
        "clock": {
            **{k: snapshot[k] for k in ("state", "days_used", "promised_days", "statutory_days")},
            "extension_days": case.extension_days,
            "due_at": case.due_at,
            "statutory_due_at": case.statutory_due_at,
            "yellow_at": case.yellow_at,
            "flag": case.deadline_flag,
            "error": case.clock_error,
        },
        "decision": case.decision,
        "decision_reasons": case.decision_reasons,
        "decision_legal_basis": case.decision_legal_basis,
        "delivery_method": case.delivery_method,
        "delivery_details": case.delivery_details,
        "created_at": case.created_at,
        "accepted_at": case.accepted_at,
        "decided_at": case.decided_at,
        "closed_at": case.closed_at,
        "intents": _intents(request, case),
    }


def _reply(request, case: Case) -> dict:
    return CaseOut.model_validate(_case_out(request, case)).model_dump(mode="json")


def _once(request, key: str | None, body: dict, run, reply=None) -> dict:
    """Run the intent (`run()` returns the case, or what `reply(request, result)` turns into the
    reply) and reply, at most once per Idempotency-Key."""
    reply_of = reply or _reply
    if key is None:
        return reply_of(request, run())
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            ErrorCode.BAD_REQUEST,
            _("The Idempotency-Key must be 1–100 printable ASCII characters."),
        )
    actor = _actor_key(request)
    digest = hashlib.sha256(
        json.dumps(
            [request.tenant.id, request.method, request.path, body],
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Waits for a transaction holding the same key; then finds its committed reply.
            cursor.execute(
                "INSERT INTO public.ledger_intentkey (actor, key, tenant_id, request_digest,"
                " created_at) VALUES (%s, %s, %s, %s, now())"
                " ON CONFLICT (actor, key) DO NOTHING RETURNING id",
                [actor, key, request.tenant.id, digest],
            )
            row = cursor.fetchone()
        if row is None:
            earlier = IntentKey.objects.get(actor=actor, key=key)
            if earlier.request_digest != digest:
                raise ApiError(
                    ErrorCode.CONFLICT,
                    _("This Idempotency-Key was already used for another request."),
                )
            return earlier.reply
        answer = reply_of(request, run())
        IntentKey.objects.filter(pk=row[0]).update(status=200, reply=answer)
        return answer


def _staff_case(case_id: uuid.UUID) -> Case:
    case = queries.find(case_id)
    if case is None:
        raise Http404
    return case


def _applicant_cases(request):
    """The cases of the signed-in person, or of the citizen a proxy agent now files for."""
    citizen = getattr(request, "acting_for", None)
    if citizen is not None:
        return queries.proxy_cases(request.user, citizen)
    return queries.applicant_cases(request.user)


def _my_case(request, case_id: uuid.UUID) -> Case:
    case = queries.find(case_id, among=_applicant_cases(request))
    if case is None:
        raise Http404
    return case


def _signed_in(request) -> None:
    """Tokens need the cases:apply scope; a session is enough otherwise."""
    if getattr(request, "api_token", None) is not None:
        token = request.api_token
        if "cases:apply" not in token.scopes or token.user is None:
            raise ApiError(
                ErrorCode.PERMISSION_DENIED,
                _("The token lacks the scope %(scope)s.") % {"scope": "cases:apply"},
            )


def _page(queryset, paging: PageIn) -> dict:
    return paged(queryset, paging, render=lambda rows: [_summary(c) for c in rows])


def _implementation(request, code: str) -> Implementation:
    found = (
        None
        if "\x00" in code
        else Implementation.objects.filter(
            code=code, tenant_id=request.tenant.id, status=Implementation.Status.PUBLISHED
        ).first()
    )
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("This unit does not offer this service."))
    return found


# --- the applicant's side ---------------------------------------------------------------------


@applicant_router.get(
    "/my/cases",
    response=page_of(CaseSummary),
    auth=TOKEN_OR_SESSION,
    summary="My applications in this unit",
)
def my_cases(
    request,
    paging: Query[PageIn],
):
    _signed_in(request)
    return _page(_applicant_cases(request), paging)


@applicant_router.post(
    "/my/cases",
    response={201: CaseOut},
    auth=TOKEN_OR_SESSION,
    summary="Start an application (a draft)",
)
def start_application(request, payload: DraftIn, idempotency_key: str | None = IdempotencyKey):
    _signed_in(request)
    implementation = _implementation(request, payload.implementation_code)
    reply = _once(
        request,
        idempotency_key,
        payload.dict(),
        lambda: actions.save_draft(
            actor=request.user,
            implementation=implementation,
            on_behalf_of=getattr(request, "acting_for", None),
            request=request,
            **payload.filing(),
        ),
    )
    return Status(201, reply)


@applicant_router.get(
    "/my/cases/{case_id}", response=CaseOut, auth=TOKEN_OR_SESSION, summary="One of my applications"
)
def my_case(request, case_id: uuid.UUID = CaseId):
    _signed_in(request)
    return _case_out(request, _my_case(request, case_id))


@applicant_router.get(
    "/my/cases/{case_id}/events",
    response=list[EventOut],
    auth=TOKEN_OR_SESSION,
    summary="The history of one of my applications",
)
def my_case_events(request, case_id: uuid.UUID = CaseId):
    _signed_in(request)
    return list(queries.history(_my_case(request, case_id)))


MaterialIdForm = Form(..., ge=1, le=2**63 - 1, description="a material of the item's guide")
OptionalFile = File(None, description="the file (missing or too large: a 422 saying so)")


class FileOut(Schema):
    """The materials entry that names the stored file (put it in the case's `materials`)."""

    material_id: int
    kind: Literal["upload"]
    file_id: str = Field(description="the stored file's id")
    sha256: str
    name: str = Field(description="the file's name (its extension follows the detected type)")
    content_type: str
    size: int


@applicant_router.post(
    "/my/cases/{case_id}/files",
    response={201: FileOut},
    auth=TOKEN_OR_SESSION,
    summary="Upload a material's file to my draft (or while corrections are asked)",
    description="Multipart: `material_id` (a material of the item's guide) and `file` (PDF, JPEG, "
    "PNG, OFD, DOCX or XLSX, checked on its content; at most UPLOAD_MAX_BYTES). The reply is the "
    "entry to list in the case's `materials` when saving, submitting or resubmitting.",
)
def upload_case_file(
    request,
    case_id: uuid.UUID = CaseId,
    material_id: int = MaterialIdForm,
    file: UploadedFile | None = OptionalFile,
):
    _signed_in(request)
    case = _my_case(request, case_id)
    try:
        upload = uploaded_file(request, "file")
    except UploadRefused as refused:
        raise ValidationError({"file": [str(refused)]}) from None
    stored = actions.attach_file(
        case, actor=request.user, material_id=material_id, upload=upload, request=request
    )
    return Status(
        201,
        {
            "material_id": material_id,
            "kind": "upload",
            "file_id": str(stored.public_id),
            "sha256": stored.sha256,
            "name": stored.original_name,
            "content_type": stored.content_type,
            "size": stored.size,
        },
    )


def _filer_intent(name: str, run, summary: str, schema):
    def endpoint(
        request,
        payload: schema,
        case_id: uuid.UUID = CaseId,
        idempotency_key: str | None = IdempotencyKey,
    ):
        _signed_in(request)
        case = _my_case(request, case_id)
        return _once(request, idempotency_key, payload.dict(), lambda: run(case, payload, request))

    endpoint.__name__ = f"my_{name}"
    applicant_router.post(
        f"/my/cases/{{case_id}}/{name.replace('_', '-')}",
        response=CaseOut,
        auth=TOKEN_OR_SESSION,
        summary=summary,
    )(endpoint)


_filer_intent(
    "draft",
    lambda case, p, request: actions.save_draft(
        case, actor=request.user, request=request, **p.filing()
    ),
    "Save my draft",
    FilingIn,
)
_filer_intent(
    "submit",
    lambda case, p, request: actions.submit(
        case, actor=request.user, request=request, **p.filing()
    ),
    "Submit my application",
    FilingIn,
)
_filer_intent(
    "resubmit",
    lambda case, p, request: actions.resubmit(
        case, actor=request.user, request=request, **p.filing()
    ),
    "Resubmit with the corrections asked for",
    FilingIn,
)
_filer_intent(
    "withdraw",
    lambda case, p, request: actions.withdraw(
        case, actor=request.user, reason=p.reason, request=request
    ),
    "Withdraw my application",
    ReasonIn,
)


# --- the staff's side -------------------------------------------------------------------------


@router.get(
    "/cases",
    response=page_of(CaseSummary),
    auth=staff_auth("cases:read", *STAFF_READERS),
    summary="This unit's cases (the clerks' queues)",
)
def list_cases(
    request,
    paging: Query[PageIn],
    queue: Literal[tuple(queries.QUEUES)] | None = Query(None),
    state: State | None = STATE_FILTER,
):
    return _page(queries.staff_cases(queue=queue, state=state), paging)


@router.post(
    "/cases",
    response={201: CaseOut},
    auth=staff_auth("cases:write", Role.WINDOW_CLERK),
    summary="Register an application brought to the window (一窗受理)",
)
def register_at_window(request, payload: HallDraftIn, idempotency_key: str | None = IdempotencyKey):
    try:
        number = normalize_id_number(payload.citizen_id_number)
    except ValidationError as error:
        raise ApiError(ErrorCode.INVALID, " ".join(error.messages)) from None
    citizen = User.objects.filter(id_number_digest__in=id_number_digests(number)).first()
    if citizen is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("No account has this ID number."))
    implementation = _implementation(request, payload.implementation_code)
    reply = _once(
        request,
        idempotency_key,
        payload.dict(),
        lambda: actions.save_draft(
            actor=_actor(request),
            implementation=implementation,
            on_behalf_of=citizen,
            request=request,
            **payload.filing(),
        ),
    )
    return Status(201, reply)


@router.get(
    "/cases/{case_id}",
    response=CaseOut,
    auth=staff_auth("cases:read", *STAFF_READERS),
    summary="One case",
)
def get_case(request, case_id: uuid.UUID = CaseId):
    return _case_out(request, _staff_case(case_id))


@router.get(
    "/cases/{case_id}/events",
    response=list[EventOut],
    auth=staff_auth("cases:read", *STAFF_READERS),
    summary="A case's history",
)
def case_events(request, case_id: uuid.UUID = CaseId):
    return list(queries.history(_staff_case(case_id)))


def _staff_intent(name: str, run, summary: str, schema=None):
    if schema is None:

        def endpoint(
            request, case_id: uuid.UUID = CaseId, idempotency_key: str | None = IdempotencyKey
        ):
            case = _staff_case(case_id)
            return _once(request, idempotency_key, {}, lambda: run(case, None, request))

    else:

        def endpoint(
            request,
            payload: schema,
            case_id: uuid.UUID = CaseId,
            idempotency_key: str | None = IdempotencyKey,
        ):
            case = _staff_case(case_id)
            return _once(
                request, idempotency_key, payload.dict(), lambda: run(case, payload, request)
            )

    endpoint.__name__ = name
    router.post(
        f"/cases/{{case_id}}/{name.replace('_', '-')}",
        response=CaseOut,
        auth=staff_auth("cases:write", *STAFF_WRITERS),
        summary=summary,
    )(endpoint)


def _by(request):
    return {"actor": _actor(request), "request": request}


_staff_intent(
    "submit",
    lambda c, p, r: actions.submit(c, **_by(r), **p.filing()),
    "Submit an application registered at the window",
    FilingIn,
)
_staff_intent(
    "resubmit",
    lambda c, p, r: actions.resubmit(c, **_by(r), **p.filing()),
    "Resubmit corrections brought to the window",
    FilingIn,
)
_staff_intent("accept", lambda c, p, r: actions.accept(c, **_by(r)), "Accept (受理)")
_staff_intent(
    "reject",
    lambda c, p, r: actions.reject(c, reasons=p.reasons, **_by(r)),
    "Do not accept (不予受理), with reasons",
    ReasonsIn,
)
_staff_intent(
    "request_corrections",
    lambda c, p, r: actions.request_corrections(c, items=p.items, **_by(r)),
    "Ask for corrections (补正), all at once",
    CorrectionsIn,
)
_staff_intent("start_review", lambda c, p, r: actions.start_review(c, **_by(r)), "Start the review")
_staff_intent(
    "decide",
    lambda c, p, r: actions.decide(
        c, decision=p.decision, reasons=p.reasons, legal_basis=p.legal_basis, **_by(r)
    ),
    "Decide: approve or refuse, with reasons and the legal basis",
    DecideIn,
)
_staff_intent(
    "deliver",
    lambda c, p, r: actions.deliver(c, method=p.method, details=p.details, **_by(r)),
    "Deliver the result (送达)",
    DeliverIn,
)
_staff_intent("close", lambda c, p, r: actions.close(c, **_by(r)), "Close the case")
_staff_intent(
    "suspend",
    lambda c, p, r: actions.suspend(c, ground=p.ground, reason=p.reason, **_by(r)),
    "Suspend (§45: hearing, testing, expert review…); the clock stops",
    SuspendIn,
)
_staff_intent(
    "resume",
    lambda c, p, r: actions.resume(c, reason=p.reason, **_by(r)),
    "Resume after a suspension",
    ReasonIn,
)
_staff_intent(
    "extend",
    lambda c, p, r: actions.extend(
        c, reason=p.reason, days=p.days, legal_basis=p.legal_basis, **_by(r)
    ),
    "Extend the time limit (§42, a department head, once)",
    ExtendIn,
)
# Across levels (shared_apps.handoffs): the case goes to another unit through `public`.
_staff_intent(
    "forward",
    lambda c, p, r: actions.forward(c, **_by(r)),
    "Pass to the unit that decides the item (多级联办)",
)
_staff_intent(
    "escalate",
    lambda c, p, r: actions.escalate(c, reason=p.reason, **_by(r)),
    "Escalate to the parent unit (上报), with the reason",
    RequiredReasonIn,
)
_staff_intent(
    "return",
    lambda c, p, r: actions.return_case(c, reason=p.reason, **_by(r)),
    "Return a case escalated here to the unit below (退回), with the reason",
    RequiredReasonIn,
)


# --- parallel approval (并联审批): the departments' tasks ---------------------------------------

TASK_ACTORS = (Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
TaskId = Path(description="the task's public id")
TASK_STATE_FILTER = Query(TaskState.PENDING, description="pending by default")


class TaskOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    item_name: str
    unit_id: int
    department_id: int
    department_name: str
    # A task received from another unit: that unit, and the application as it accepted it.
    requested_by_id: int | None
    form_data: dict
    state: TaskState
    rule: str
    due_at: datetime | None
    opinion: str
    decided_by: str
    decided_at: datetime | None


class OpinionIn(Schema):
    opinion: str = Field(min_length=1, max_length=2000)


def _task_out(task: ParallelTask) -> dict:
    return {
        "id": task.public_id,
        "case_id": task.case_public_id,
        **{
            field: getattr(task, field)
            for field in TaskOut.model_fields
            if field not in ("id", "case_id")
        },
    }


def _task_reply(request, task: ParallelTask) -> dict:
    return TaskOut.model_validate(_task_out(task)).model_dump(mode="json")


@router.get(
    "/cases/{case_id}/tasks",
    response=list[TaskOut],
    auth=staff_auth("cases:read", *STAFF_READERS),
    summary="A case's parallel review tasks and opinions (会签/并联审批)",
)
def case_tasks(request, case_id: uuid.UUID = CaseId):
    return [_task_out(task) for task in queries.case_tasks(_staff_case(case_id))]


@router.get(
    "/tasks",
    response=page_of(TaskOut),
    auth=staff_auth("cases:read", *TASK_ACTORS),
    summary="The parallel review tasks of my departments here, most urgent first",
)
def my_tasks(request, paging: Query[PageIn], state: TaskState | None = TASK_STATE_FILTER):
    tasks = queries.department_tasks(request.user, request.tenant, state=state)
    return paged(tasks, paging, lambda rows: [_task_out(task) for task in rows])


def _task_intent(name: str, decision: str, summary: str):
    def endpoint(
        request,
        payload: OpinionIn,
        task_id: uuid.UUID = TaskId,
        idempotency_key: str | None = IdempotencyKey,
    ):
        task = queries.find_task(task_id)
        if task is None:
            raise Http404
        return _once(
            request,
            idempotency_key,
            payload.dict(),
            lambda: actions.complete_task(
                task, decision=decision, opinion=payload.opinion, **_by(request)
            ),
            reply=_task_reply,
        )

    endpoint.__name__ = f"{name}_task"
    router.post(
        f"/tasks/{{task_id}}/{name}",
        response=TaskOut,
        auth=staff_auth("cases:write", *TASK_ACTORS),
        summary=summary,
    )(endpoint)


_task_intent("approve", TaskState.APPROVED, "My department approves (会签同意), with its opinion")
_task_intent("refuse", TaskState.REFUSED, "My department refuses (会签不同意), with its reasons")


# --- bundles (一件事一次办): one form, one application, a case per item ---------------------------

BundleCode = Path(max_length=40, description="the bundle's code")
BundleNumber = Path(max_length=50, description="the bundle number the application got")


class BundleMaterialOut(Schema):
    name: str
    required: bool


class BundleFormOut(Schema):
    code: str
    name: str
    items: list[str]
    form_schema: dict
    materials: list[BundleMaterialOut]


class BundleMaterialIn(Schema):
    name: str = Field(min_length=1, max_length=200, description="the material's name, once")
    kind: Literal["form_section", "reused"]
    result_case_number: str | None = Field(None, max_length=50)


class BundleApplicationIn(Schema):
    form_data: dict = Field(description="answers to the bundle's one form")
    materials: list[BundleMaterialIn] = Field([], max_length=100)

    @field_validator("form_data")
    @classmethod
    def _bounded(cls, value: dict) -> dict:
        return _bounded_form(value)


class BundleApplicationOut(Schema):
    bundle_number: str
    cases: list[CaseSummary]


def _bundle(request, code: str) -> tuple[Bundle, list]:
    from shared_apps.catalog.queries import bundle_offer

    bundle = None if "\x00" in code else Bundle.objects.filter(code=code).first()
    offer = bundle_offer(bundle, request.tenant) if bundle is not None else None
    if offer is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("This unit does not offer this bundle."))
    return bundle, offer


@applicant_router.get(
    "/my/bundles/{code}",
    response=BundleFormOut,
    auth=TOKEN_OR_SESSION,
    summary="A bundle (一件事): its items, its one form and its materials, each once",
)
def bundle_form(request, code: str = BundleCode):
    from shared_apps.catalog.queries import combined_form_schema, combined_materials

    bundle, offer = _bundle(request, code)
    try:
        schema = combined_form_schema(offer)
    except ValidationError as error:
        raise ApiError(ErrorCode.CONFLICT, " ".join(error.messages)) from None
    return {
        "code": bundle.code,
        "name": bundle.name,
        "items": [implementation.item.name for implementation in offer],
        "form_schema": schema,
        "materials": combined_materials(offer),
    }


def _bundle_reply(request, drafts: list[Case]) -> dict:
    return BundleApplicationOut.model_validate(
        {"bundle_number": drafts[0].bundle_number, "cases": [_summary(d) for d in drafts]}
    ).model_dump(mode="json")


@applicant_router.post(
    "/my/bundles/{code}",
    response={201: BundleApplicationOut},
    auth=TOKEN_OR_SESSION,
    summary="Apply for a bundle once: a draft per item under one bundle number",
)
def apply_for_bundle(
    request,
    payload: BundleApplicationIn,
    code: str = BundleCode,
    idempotency_key: str | None = IdempotencyKey,
):
    _signed_in(request)
    if getattr(request, "acting_for", None) is not None:
        raise ApiError(
            ErrorCode.PERMISSION_DENIED,
            _("A bundle is applied for by the applicant themselves, not by proxy (yet)."),
        )
    bundle, _offer = _bundle(request, code)
    reply = _once(
        request,
        idempotency_key,
        payload.dict(),
        lambda: actions.apply_bundle(
            bundle,
            actor=request.user,
            form_data=payload.form_data,
            materials=[m.dict(exclude_none=True) for m in payload.materials],
            request=request,
        ),
        reply=_bundle_reply,
    )
    return Status(201, reply)


@applicant_router.post(
    "/my/bundle-applications/{number}/submit",
    response=BundleApplicationOut,
    auth=TOKEN_OR_SESSION,
    summary="Submit every item of my bundle application at once (all or none)",
)
def submit_bundle(
    request, number: str = BundleNumber, idempotency_key: str | None = IdempotencyKey
):
    _signed_in(request)
    drafts = list(
        queries.applicant_cases(request.user)
        .filter(bundle_number=number, state=State.DRAFT)
        .order_by("id")
    )
    if "\x00" in number or not drafts:
        raise Http404

    def run():
        # One transaction: a draft that can't be submitted yet submits none of them.
        with transaction.atomic():
            return [actions.submit(draft, actor=request.user, request=request) for draft in drafts]

    return _once(request, idempotency_key, {}, run, reply=_bundle_reply)
