"""The staff workbench (工作台) on a unit's subdomain: the queues, the case page with one form per
intent this person may take, and hall-window registration (一窗受理).

Only signed-in staff of this unit (with their second factor) get in: window clerks, reviewers,
approvers, department heads, and to read only, its administrators and supervisors (a provincial
administrator overseeing the unit among them). Every case is looked up in the request's schema, so
another unit's case id is simply not found. Writes go through the actions, which check the role
again inside their transaction.

A double click or a resent form never applies an intent twice: each form carries an idempotency
key made when the page was rendered, stored (the API's `IntentKey` table, per person) in the
transaction that applies the intent. A second request with the key waits for the first, then finds
it and only shows the case. Two clerks acting at once: the actions' row lock lets one win; the
other gets the CaseConflict message, with their form kept.
"""

import hashlib
import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.forms import HiddenInput
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from govplatform.paging import page_for
from govplatform.uploads import UploadRefused, delete_upload, uploaded_file
from shared_apps.accounts import authz
from shared_apps.accounts.models import Role, User
from shared_apps.catalog.models import Implementation, ImplementationMaterial
from shared_apps.ledger.models import IntentKey
from shared_apps.licenses import queries as license_queries
from tenant_apps.cases import actions, clock, queries, transitions
from tenant_apps.cases.documents import documents_for
from tenant_apps.cases.models import Case, CaseFile, ClockState, State
from tenant_apps.cases.workbench_forms import (
    INTENT_FORMS,
    FindCitizenForm,
    IntentForm,
    QueueFilterForm,
    ResubmitForm,
    TaskOpinionForm,
    WindowForm,
)
from tenant_apps.departments.models import Department

READERS = (
    Role.WINDOW_CLERK,
    Role.REVIEWER,
    Role.APPROVER,
    Role.DEPARTMENT_HEAD,
    Role.SUPERVISOR,
    Role.TENANT_ADMIN,
)
QUEUE_LABELS = {
    "to_accept": gettext_lazy("To accept"),
    "to_review": gettext_lazy("To review"),
    "to_decide": gettext_lazy("To decide"),
    "to_deliver": gettext_lazy("To deliver"),
    "parallel": gettext_lazy("In parallel review"),
    "yellow": gettext_lazy("Yellow warning"),
    "red": gettext_lazy("Red (overdue)"),
    "all": gettext_lazy("All cases"),
}


def _staff_only(request) -> None:
    authz.require_role(request, *READERS)


def _bad_request(request, message: str):
    return render(request, "400.html", {"message": message}, status=400)


# --- queues -----------------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def queues(request):
    _staff_only(request)
    tenant = request.tenant
    items = list(
        Implementation.objects.filter(tenant_id=tenant.id)
        .exclude(status=Implementation.Status.DRAFT)
        .order_by("item__name", "id")
        .values_list("pk", "item__name")
    )
    departments = list(Department.objects.order_by("name").values_list("pk", "name"))
    form = QueueFilterForm(request.GET, items=items, departments=departments)
    if not form.is_valid():
        return _bad_request(
            request, " ".join(str(e) for errors in form.errors.values() for e in errors)
        )
    queue = form.cleaned_data["queue"] or "to_accept"
    cases = queries.workbench_cases(
        queue=queue,
        implementation_id=form.cleaned_data["item"],
        department_id=form.cleaned_data["department"],
        search=form.cleaned_data["q"],
    )
    page = page_for(request, cases)
    rows = list(page.object_list)
    names = dict(
        User.objects.filter(pk__in={c.applicant_id for c in rows}).values_list("pk", "real_name")
    )
    for case in rows:
        case.applicant_name = names.get(case.applicant_id) or "—"
    counts = queries.queue_counts()
    menu = [
        {"name": name, "label": label, "count": counts.get(name), "current": name == queue}
        for name, label in QUEUE_LABELS.items()
    ]
    return render(
        request,
        "cases/workbench/queues.html",
        {
            "form": form,
            "queue": queue,
            "queue_label": QUEUE_LABELS[queue],
            "menu": menu,
            "page": page,
            "rows": rows,
            "is_clerk": Role.WINDOW_CLERK in authz.roles_in(request.user, tenant),
            "task_count": queries.department_tasks(request.user, tenant).count(),
        },
    )


# --- the case page ----------------------------------------------------------------------------


def _case_or_404(public_id) -> Case:
    case = queries.find(public_id)
    if case is None or case.state == State.DRAFT:
        raise Http404
    return case


def _staff_roles(request) -> set[str]:
    return authz.roles_in(request.user, request.tenant) & transitions.STAFF_ROLES


def allowed_intents(case: Case, roles: set[str]) -> list[str]:
    """The intents of the case page this person may take now (the table's guards included)."""
    found = []
    for intent in transitions.intents_for(case.state, roles):
        if intent not in INTENT_FORMS:
            continue
        if intent == "decide" and case.state == State.ACCEPTED and case.promised_days != 0:
            continue  # only same-day items skip the review
        if intent == "extend" and case.extension_days:
            continue  # once
        if not _fits_level(case, intent):
            continue
        found.append(intent)
    return found


def _fits_level(case: Case, intent: str) -> bool:
    """Across levels (shared_apps.handoffs): only a case escalated here is returned; an item
    another unit decides is forwarded, not decided, here; a received case's result is delivered
    by the unit that sent it."""
    if intent == "return":
        return case.received_as == "escalate"
    if intent == "deliver":
        return not case.received_from_id
    if intent in ("forward", "decide"):
        joint = not case.received_from_id and bool(
            Implementation.objects.filter(pk=case.implementation_id, decided_by__isnull=False)
            .only("pk")
            .exists()
        )
        return joint if intent == "forward" else not joint
    return True


def _clock(case: Case) -> dict:
    limit = clock.limit(case)
    info = {"limit": limit, "flag": case.deadline_flag, "error": case.clock_error}
    if case.clock_state == ClockState.NOT_STARTED:
        return info
    try:
        used = clock.days_used(case, timezone.now())
    except clock.CalendarNotCovered as error:
        info["error"] = str(error)
        return info
    info.update(used=used, left=max(limit - used, 0), overdue=max(used - limit, 0))
    return info


def _form_rows(case: Case, schema: dict) -> list[tuple[str, str]]:
    properties = (schema or {}).get("properties") or {}
    rows = []
    for key, value in case.form_data.items():
        title = (properties.get(key) or {}).get("title") or key
        if isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif isinstance(value, (dict, list)):
            shown = json.dumps(value, ensure_ascii=False)
        else:
            shown = str(value)
        rows.append((title, shown))
    return rows


def _guide_materials(case: Case) -> list[tuple[int, str, str]]:
    """(guide material id, name, form section) of the case's item, in the guide's order."""
    return list(
        ImplementationMaterial.objects.filter(implementation_id=case.implementation_id)
        .order_by("id")
        .values_list("guide_material_id", "guide_material__name", "as_form_section")
    )


def _materials(case: Case, guide: list[tuple[int, str, str]]) -> list[dict]:
    names = {material_id: name for material_id, name, _section in guide}
    shown = []
    for material in case.materials:
        row = {
            "name": names.get(material.get("material_id")) or _("Material"),
            "kind": material.get("kind"),
        }
        if material.get("kind") == "upload" and material.get("file_id"):
            # The download view is the citizen pages' (it checks who may read the file).
            row["url"] = f"/cases/{case.public_id}/files/{material['file_id']}"
        elif material.get("kind") == "reused":
            row["reused"] = material.get("result_case_number")
        elif material.get("kind") == "license":
            # Checked now, in the provincial library: genuine, status, issuer.
            row["license"] = license_queries.verify(material["license_identifier"])
        shown.append(row)
    return shown


def _history(case: Case) -> list:
    events = list(queries.history(case))
    for event in events:
        try:
            event.step = transitions.intent_label(event.intent)
        except KeyError:
            event.step = event.intent
    return events


def _resubmit_form(case: Case, schema, guide, data=None, files=None) -> ResubmitForm:
    return ResubmitForm(
        data,
        files,
        schema=schema,
        answers=case.form_data,
        uploads=[(material_id, name) for material_id, name, section in guide if not section],
    )


def _render_case(request, case: Case, *, failed: IntentForm | None = None, error="", status=200):
    roles = _staff_roles(request)
    allowed = allowed_intents(case, roles)
    guide = _guide_materials(case)
    forms = []
    for intent in allowed:
        if failed is not None and failed.intent == intent:
            form = failed
        else:
            form = INTENT_FORMS[intent][0](intent=intent)
        forms.append({"intent": intent, "label": transitions.intent_label(intent), "form": form})
    schema = (
        Implementation.objects.filter(pk=case.implementation_id)
        .values_list("form_schema", flat=True)
        .first()
    )
    resubmit = None
    if "resubmit" in transitions.intents_for(case.state, roles):
        # Corrections brought to the window: a clerk resubmits them for the applicant.
        resubmit = failed if failed is not None and failed.intent == "resubmit" else None
        resubmit = resubmit or _resubmit_form(case, schema, guide)
        allowed = [*allowed, "resubmit"]
    stale = None
    if failed is not None and failed.intent not in allowed:
        # The case moved on (someone else acted first): what was typed stays readable.
        stale = {"label": transitions.intent_label(failed.intent), "form": failed}
    applicant = User.objects.filter(pk=case.applicant_id).first()
    return render(
        request,
        "cases/workbench/case.html",
        {
            "case": case,
            "state_label": State(case.state).label,
            "applicant": applicant,
            "form_rows": _form_rows(case, schema),
            "materials": _materials(case, guide),
            "events": _history(case),
            "clock": _clock(case),
            "intent_forms": forms,
            "resubmit": resubmit,
            "stale": stale,
            "documents": documents_for(case),
            "error": error,
            "read_only": not roles,
            "tasks": _tasks_of(request, case),
        },
        status=status,
    )


def _tasks_of(request, case: Case) -> list:
    """The case's parallel review tasks with their opinions (the lead department sees them all),
    each marked when this person's department gives it."""
    mine = queries.task_departments(request.user, request.tenant)
    tasks = list(queries.case_tasks(case))
    for task in tasks:
        task.mine = task.unit_id == request.tenant.id and task.department_id in mine
        task.elsewhere = task.unit_id != request.tenant.id
    return tasks


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def case_page(request, public_id: uuid.UUID):
    _staff_only(request)
    return _render_case(request, _case_or_404(public_id))


def _actor_key(request) -> str:
    return f"user:{request.user.pk}"


def _once(request, key: uuid.UUID, body: dict, run):
    """Run `run()` at most once for this person's key; returns (case public id, applied now).
    The key row is written in the transaction that applies the intent, so a failure leaves no
    key behind and the form can be sent again."""
    digest = hashlib.sha256(
        json.dumps(
            [request.tenant.id, "page", request.path, body],
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    actor = _actor_key(request)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A second request with the key waits here for the first one's transaction.
            cursor.execute(
                "INSERT INTO public.ledger_intentkey (actor, key, tenant_id, request_digest,"
                " created_at) VALUES (%s, %s, %s, %s, now())"
                " ON CONFLICT (actor, key) DO NOTHING RETURNING id",
                [actor, str(key), request.tenant.id, digest],
            )
            row = cursor.fetchone()
        if row is None:
            earlier = IntentKey.objects.get(actor=actor, key=str(key))
            if earlier.request_digest != digest or earlier.tenant_id != request.tenant.id:
                raise transitions.CaseConflict(
                    _("This form was already sent with other values. Reload the page.")
                )
            return earlier.reply["case"], False
        case = run()
        IntentKey.objects.filter(pk=row[0]).update(
            status=200, reply={"case": str(case.public_id), "state": case.state}
        )
        return str(case.public_id), True


def _put_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            name = field.split(".")[0]
            form.add_error(name if name in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


@login_required
@never_cache
@require_POST
def intent(request, public_id: uuid.UUID, intent: str):
    _staff_only(request)
    if intent == "resubmit":
        return _resubmit(request, _case_or_404(public_id))
    if intent not in INTENT_FORMS:
        raise Http404
    case = _case_or_404(public_id)
    form_class, action = INTENT_FORMS[intent]
    form = form_class(request.POST, intent=intent)
    if not form.is_valid():
        return _render_case(
            request, case, failed=form, error=_("Please correct the errors below."), status=400
        )
    arguments = form.arguments()
    try:
        _public_id, applied = _once(
            request,
            form.cleaned_data["idempotency_key"],
            {"intent": intent, **arguments},
            lambda: action(case, actor=request.user, request=request, **arguments),
        )
    except transitions.CaseConflict as conflict:
        return _render_case(
            request, queries.find(case.public_id), failed=form, error=conflict.detail, status=409
        )
    except PermissionDenied as denied:
        return _render_case(
            request,
            case,
            failed=form,
            error=str(denied) or _("You may not do this."),
            status=403,
        )
    except ValidationError as error:
        _put_errors(form, error)
        return _render_case(
            request, case, failed=form, error=_("Please correct the errors below."), status=400
        )
    if applied:
        messages.success(
            request, _("Done: %(intent)s.") % {"intent": transitions.intent_label(intent)}
        )
    else:
        messages.info(request, _("This was already done; nothing was applied twice."))
    return redirect("workbench:case", public_id=case.public_id)


# --- hall window (一窗受理) ------------------------------------------------------------------


def _find_citizen(request, text: str) -> tuple[User | None, str]:
    try:
        return actions.find_citizen_at_window(
            actor=request.user, id_number=text, request=request
        ), ""
    except ValidationError as error:
        return None, " ".join(error.messages)


def _window_form(request, tenant, data=None, implementation=None, files=None):
    implementations = list(
        Implementation.objects.filter(tenant_id=tenant.id, status=Implementation.Status.PUBLISHED)
        .order_by("item__name", "id")
        .values_list("pk", "item__name")
    )
    sections, uploads = [], []
    if implementation is not None:
        for row in implementation.materials.select_related("guide_material").order_by("id"):
            material = row.guide_material
            if row.as_form_section:
                sections.append((material.id, f"{material.name}（{row.as_form_section}）"))
            else:
                label = _("%(material)s (%(necessity)s): scanned file") % {
                    "material": material.name,
                    "necessity": material.get_necessity_display(),
                }
                uploads.append((material.id, label))
    form = WindowForm(
        data,
        files,
        implementations=implementations,
        schema=implementation.form_schema if implementation else None,
        sections=sections,
        uploads=uploads,
        initial={"idempotency_key": uuid.uuid4()},
    )
    if implementation is not None:
        # Chosen: the fields below are its form's (another item goes back a step).
        form.fields["implementation"].widget = HiddenInput()
    return form


def _chosen(tenant, value) -> Implementation | None:
    value = str(value or "")
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        return None
    return (
        Implementation.objects.filter(
            pk=int(value), tenant_id=tenant.id, status=Implementation.Status.PUBLISHED
        )
        .select_related("item")
        .first()
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def window(request):
    """Register an application brought to the hall: find the citizen, choose the item, fill its
    form, register (and accept at once if the materials are complete)."""
    authz.require_role(request, Role.WINDOW_CLERK)
    tenant = request.tenant
    step = request.POST.get("step", "")
    find = FindCitizenForm(request.POST if step == "find" else None)
    context = {"find": find, "citizen": None, "form": None, "implementation": None}
    status = 200
    if step == "find" and find.is_valid():
        citizen, problem = _find_citizen(request, find.cleaned_data["id_number"])
        if citizen is None:
            find.add_error("id_number", problem)
            status = 400
        else:
            context.update(citizen=citizen, form=_window_form(request, tenant))
            context["form"].initial["id_number"] = find.cleaned_data["id_number"]
    elif step == "find":
        status = 400
    elif step in ("choose", "register"):
        id_number = request.POST.get("id_number", "")[:40]
        citizen, problem = _find_citizen(request, id_number)
        if citizen is None:
            return _bad_request(request, problem)
        implementation = _chosen(tenant, request.POST.get("implementation"))
        context.update(citizen=citizen, implementation=implementation)
        if step == "choose" or implementation is None:
            form = _window_form(request, tenant, None, implementation)
            form.initial.update(
                id_number=id_number, implementation=implementation.pk if implementation else None
            )
            context["form"] = form
            if implementation is None and step == "register":
                context["problem"] = _("Choose one of this unit's items.")
                status = 400
        else:
            form = _window_form(request, tenant, request.POST, implementation, request.FILES)
            context["form"] = form
            if not form.is_valid():
                status = 400
            else:
                outcome = _register(request, form, citizen, implementation)
                if isinstance(outcome, str):
                    return redirect("workbench:case", public_id=outcome)
                status = outcome
    elif step:
        return _bad_request(request, _("Unknown step."))
    if context["citizen"] is not None:
        context["citizen_masked"] = context["citizen"].id_number_masked
    return render(request, "cases/workbench/window.html", context, status=status)


def _sent_scans(request, form) -> dict[int, str]:
    """The material ids with a file sent (or one too large to be received), with its name."""
    too_large = getattr(request, "uploads_too_large", ())
    sent = {}
    for material_id in form.upload_ids():
        field = f"file-{material_id}"
        if field in request.FILES or field in too_large:
            upload = request.FILES.get(field)
            sent[material_id] = f"{upload.name} {upload.size}" if upload else "too large"
    return sent


def _attach_scans(request, case: Case, form, stored: list) -> list[dict]:
    """Attach the scans sent on `form` (`file-<material id>`) to the case through the action
    (checked on their content, audited): their material entries. Every refused file is named on
    its field at once, as a ValidationError: the caller's transaction then rolls back, and
    `_delete_unkept(stored)` removes the files already stored."""
    entries, errors = [], {}
    for material_id in _sent_scans(request, form):
        field = f"file-{material_id}"
        try:
            file = actions.attach_file(
                case,
                actor=request.user,
                material_id=material_id,
                upload=uploaded_file(request, field),
                request=request,
            )
        except UploadRefused as refused:
            errors[field] = [str(refused)]
            continue
        except ValidationError as error:
            errors[field] = error.messages
            continue
        stored.append(file)
        entries.append(
            {
                "material_id": material_id,
                "kind": "upload",
                "file_id": str(file.public_id),
                "sha256": file.sha256,
            }
        )
    if errors:
        raise ValidationError(errors)
    return entries


def _delete_unkept(stored: list) -> None:
    """Files stored for a transaction that did not commit are removed from storage."""
    if not stored:
        return
    kept = set(CaseFile.objects.filter(pk__in=[f.pk for f in stored]).values_list("pk", flat=True))
    for file in stored:
        if file.pk not in kept:
            delete_upload(file.stored)


def _put_filing_errors(form, error: ValidationError) -> None:
    """The actions' errors on the fields of a filing form (`form_data.<field>` on `form-<field>`,
    a refused scan on its `file-<id>`), the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, problems in error.message_dict.items():
        if field in form.fields:
            form.add_error(field, problems)
            continue
        name = field.removeprefix("form_data.").split(".")[0]
        target = f"form-{name}" if field.startswith("form_data.") else None
        form.add_error(target if target in form.fields else None, problems)


def _register(request, form: WindowForm, citizen: User, implementation: Implementation):
    """The case's public id, or the status of the page showing what went wrong (on the form).
    Registering, attaching the scans, submitting and accepting are one transaction: nothing
    half-written, and a refused scan leaves no file behind (those stored are deleted)."""
    sections = [
        {"material_id": material_id, "kind": "form_section"} for material_id in form.material_ids()
    ]
    accept_now = form.cleaned_data["accept_now"]
    stored = []

    def run():
        draft = actions.save_draft(
            actor=request.user,
            implementation=implementation,
            form_data=form.form_data(),
            materials=sections,
            on_behalf_of=citizen,
            request=request,
        )
        scans = _attach_scans(request, draft, form, stored)
        case = actions.submit(
            draft, actor=request.user, materials=sections + scans, request=request
        )
        if accept_now:
            case = actions.accept(case, actor=request.user, request=request)
        return case

    body = {
        "citizen": citizen.pk,
        "implementation": implementation.pk,
        "form_data": form.form_data(),
        "materials": sections,
        "scans": _sent_scans(request, form),
        "accept_now": accept_now,
    }
    try:
        public_id, applied = _once(request, form.cleaned_data["idempotency_key"], body, run)
    except ValidationError as error:
        _put_filing_errors(form, error)
        return 400
    except (PermissionDenied, transitions.CaseConflict) as error:
        form.add_error(None, getattr(error, "detail", None) or str(error))
        return 409 if isinstance(error, transitions.CaseConflict) else 403
    finally:
        _delete_unkept(stored)
    if applied:
        messages.success(request, _("Registered at the window."))
    else:
        messages.info(request, _("This was already done; nothing was applied twice."))
    return public_id


# --- corrections brought to the window (补正) ---------------------------------------------------


def _resubmit(request, case: Case):
    """A window clerk resubmits the corrections the applicant brought in (the action lets window
    clerks resubmit): the answers as corrected and a scan of each material to replace, in one
    transaction with the idempotency key. A refused scan refuses the whole resubmission and
    leaves no file behind (the clerk has the papers in hand and scans again)."""
    guide = _guide_materials(case)
    schema = (
        Implementation.objects.filter(pk=case.implementation_id)
        .values_list("form_schema", flat=True)
        .first()
    )
    form = _resubmit_form(case, schema, guide, request.POST, request.FILES)
    if not form.is_valid():
        return _render_case(
            request, case, failed=form, error=_("Please correct the errors below."), status=400
        )
    stored = []

    def run():
        # Said before any file is stored (the action checks again under the case's lock).
        if not transitions.require(case, "resubmit").roles & _staff_roles(request):
            raise PermissionDenied(
                _("You may not %(intent)s this case.")
                % {"intent": transitions.intent_label("resubmit")}
            )
        scans = _attach_scans(request, case, form, stored)
        replaced = {entry["material_id"] for entry in scans}
        materials = [m for m in case.materials if m.get("material_id") not in replaced] + scans
        return actions.resubmit(
            case,
            actor=request.user,
            form_data=form.form_data(),
            materials=materials,
            request=request,
        )

    body = {
        "intent": "resubmit",
        "form_data": form.form_data(),
        "scans": _sent_scans(request, form),
    }
    try:
        _public_id, applied = _once(request, form.cleaned_data["idempotency_key"], body, run)
    except transitions.CaseConflict as conflict:
        return _render_case(
            request, queries.find(case.public_id), failed=form, error=conflict.detail, status=409
        )
    except PermissionDenied as denied:
        return _render_case(
            request, case, failed=form, error=str(denied) or _("You may not do this."), status=403
        )
    except ValidationError as error:
        _put_filing_errors(form, error)
        return _render_case(
            request, case, failed=form, error=_("Please correct the errors below."), status=400
        )
    finally:
        _delete_unkept(stored)
    if applied:
        messages.success(
            request, _("Done: %(intent)s.") % {"intent": transitions.intent_label("resubmit")}
        )
    else:
        messages.info(request, _("This was already done; nothing was applied twice."))
    return redirect("workbench:case", public_id=case.public_id)


# --- parallel approval (并联审批): the departments' tasks ---------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def tasks(request):
    """The 会签/并联审批 queue: the tasks of this person's departments here, most urgent first;
    `?done=1` shows the finished ones."""
    _staff_only(request)
    done = request.GET.get("done") == "1"
    rows = queries.department_tasks(request.user, request.tenant, state=None if done else "pending")
    if done:
        rows = rows.exclude(state="pending")
    page = page_for(request, rows)
    return render(
        request,
        "cases/workbench/tasks.html",
        {"page": page, "rows": page.object_list, "done": done},
    )


def _task_or_404(request, public_id):
    """A task this person may see: one of their departments' here, or one of this unit's case
    (its staff read every task of their unit's cases). Another unit's id is not found."""
    task = queries.find_task(public_id)
    if task is None:
        raise Http404
    if task.case_id is None and not queries.may_complete_task(request.user, request.tenant, task):
        raise Http404  # another unit's case: only the department asked reads it
    return task


def _render_task(request, task, *, form=None, error="", status=200):
    case = Case.objects.filter(pk=task.case_id).first() if task.case_id else None
    data = case.form_data if case is not None else task.form_data
    may = task.state == "pending" and queries.may_complete_task(request.user, request.tenant, task)
    return render(
        request,
        "cases/workbench/task.html",
        {
            "task": task,
            "case": case,
            "form_rows": [(key, value) for key, value in data.items()],
            "form": (form or TaskOpinionForm()) if may else None,
            "error": error,
        },
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def task_page(request, public_id: uuid.UUID):
    _staff_only(request)
    return _render_task(request, _task_or_404(request, public_id))


@login_required
@never_cache
@require_POST
def task_opinion(request, public_id: uuid.UUID):
    _staff_only(request)
    task = _task_or_404(request, public_id)
    form = TaskOpinionForm(request.POST)
    if not form.is_valid():
        return _render_task(
            request, task, form=form, error=_("Please correct the errors below."), status=400
        )
    arguments = form.arguments()
    try:
        _public_id, applied = _once(
            request,
            form.cleaned_data["idempotency_key"],
            {"task": str(task.public_id), **arguments},
            lambda: actions.complete_task(task, actor=request.user, request=request, **arguments),
        )
    except transitions.CaseConflict as conflict:
        task.refresh_from_db()
        return _render_task(request, task, form=form, error=conflict.detail, status=409)
    except PermissionDenied as denied:
        return _render_task(
            request, task, form=form, error=str(denied) or _("You may not do this."), status=403
        )
    except ValidationError as error:
        _put_errors(form, error)
        return _render_task(
            request, task, form=form, error=_("Please correct the errors below."), status=400
        )
    if applied:
        messages.success(request, _("Your department's opinion was recorded."))
    else:
        messages.info(request, _("This was already done; nothing was applied twice."))
    return redirect("workbench:task", public_id=task.public_id)
