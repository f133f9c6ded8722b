"""The applicant's pages on a unit's subdomain: apply for an item (`/apply/<code>`), my cases here
(`/my/cases`), one case (`/my/cases/<id>`: state, time left, corrections asked, resubmit,
withdraw, documents, history), and a case file's download (`/cases/<id>/files/<file id>`, also
for the unit's staff). Every write goes through tenant_apps.cases.actions.

A form posted twice (a double click, a reload) carries the same hidden `idempotency_key`: the
first post stores where it led in IntentKey inside its transaction; the second waits for it and
is sent to the same place, so nothing is applied twice.
"""

import hashlib
import re
import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from govplatform.paging import page_for
from govplatform.uploads import UploadRefused, delete_upload, serve_upload, uploaded_file
from shared_apps.accounts import authz
from shared_apps.accounts.models import Role, User
from shared_apps.catalog import queries as catalog_queries
from shared_apps.catalog.models import OnlineDepth
from shared_apps.ledger.models import IntentKey
from shared_apps.licenses import queries as license_queries
from shared_apps.payments.queries import orders_of_case
from tenant_apps.cases import actions, display, documents, forms, queries, transitions
from tenant_apps.cases.models import Case, CaseFile, Decision, State
from tenant_apps.cases.validation import check_form, clean_text
from tenants.links import portal_url

IDEMPOTENCY_KEY = re.compile(r"[0-9a-f-]{36}", re.ASCII)
STAFF_READERS = frozenset(
    {
        Role.WINDOW_CLERK,
        Role.REVIEWER,
        Role.APPROVER,
        Role.DEPARTMENT_HEAD,
        Role.SUPERVISOR,
        Role.TENANT_ADMIN,
    }
)


class _Invalid(Exception):
    """Roll the whole post back and show the page again with its errors."""


# --- helpers ----------------------------------------------------------------------------------


def _my_cases(request):
    citizen = getattr(request, "acting_for", None)
    if citizen is not None:
        return queries.proxy_cases(request.user, citizen)
    return queries.applicant_cases(request.user)


def _my_case(request, public_id) -> Case:
    case = queries.find(public_id, among=_my_cases(request))
    if case is None:
        raise Http404(_("No such application of yours here."))
    return case


def _service(request, code: str):
    implementation = catalog_queries.guide(code, request.tenant)
    if implementation is None:
        raise Http404(_("This unit does not offer this service."))
    return implementation


def _idempotent(request, run):
    """Run `run()` (which returns the URL to go to) at most once per posted idempotency key, in
    one transaction with the key; a repeat goes to the URL the first one led to."""
    key = request.POST.get("idempotency_key", "")
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise _Invalid(_("This form has expired; please fill it in again."))
    actor = f"user:{request.user.pk}"
    digest = hashlib.sha256(f"{request.tenant.id} {request.path}".encode()).hexdigest()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO public.ledger_intentkey (actor, key, tenant_id, request_digest,"
                " created_at) VALUES (%s, %s, %s, %s, now())"
                " ON CONFLICT (actor, key) DO NOTHING RETURNING id",
                [actor, f"page:{key}", request.tenant.id, digest],
            )
            row = cursor.fetchone()
        if row is None:
            earlier = IntentKey.objects.get(actor=actor, key=f"page:{key}")
            return (earlier.reply or {}).get("location") or reverse("cases:my_cases")
        location = run()
        IntentKey.objects.filter(pk=row[0]).update(status=303, reply={"location": location})
        return location


def _materials_view(
    implementation, case: Case | None, request=None, errors=None, *, pending_since=None
):
    """One row per guide material: what is given now, how it can be given. With
    `pending_since` (when corrections were asked), the newest file of each material uploaded
    since then that the materials do not name yet: kept from a resubmission that failed, it is
    offered again (`kept-<material id>`)."""
    given = {m["material_id"]: m for m in (case.materials if case else [])}
    files = (
        {str(f.public_id): f for f in CaseFile.objects.filter(case=case)}
        if case is not None and case.pk
        else {}
    )
    pending = {}
    if pending_since is not None:
        named = {m.get("file_id") for m in case.materials}
        for file in sorted(files.values(), key=lambda f: (f.created_at, f.pk)):
            if file.created_at >= pending_since and str(file.public_id) not in named:
                pending[file.material_id] = file
    reusable = list(
        Case.objects.filter(
            applicant_id=case.applicant_id
            if case
            else (getattr(request, "acting_for", None) or request.user).pk,
            decision=Decision.APPROVED,
            state__in=[State.DELIVERED, State.CLOSED],
        )
        .exclude(number=None)
        .order_by("-decided_at")
        .values_list("number", "item_name")[:20]
    )
    applicant = (
        User.objects.get(pk=case.applicant_id)
        if case
        else (getattr(request, "acting_for", None) or request.user)
    )
    guide_rows = list(implementation.materials.all())
    # 免提交: the applicant's e-licenses that stand in for a material are offered instead.
    licenses = license_queries.offered_for(applicant, [r.guide_material.name for r in guide_rows])
    rows = []
    for row in guide_rows:
        material = row.guide_material
        entry = given.get(material.id)
        rows.append(
            {
                "id": material.id,
                "name": material.name,
                "necessity": material.get_necessity_display(),
                "required": material.necessity == material.Necessity.REQUIRED,
                "section": row.as_form_section,
                "entry": entry,
                "file": files.get(entry.get("file_id")) if entry else None,
                "pending": pending.get(material.id),
                "reusable": reusable,
                "licenses": licenses.get(material.name, []),
                "errors": (errors or {}).get(material.id, []),
            }
        )
    return rows


def _kept_file(request, case: Case, material_id: int) -> CaseFile | None:
    """The file of this case and material an earlier, failed post kept (`kept-<id>`)."""
    try:
        file_id = uuid.UUID(request.POST.get(f"kept-{material_id}", "")[:36])
    except ValueError:
        return None
    return CaseFile.objects.filter(case=case, material_id=material_id, public_id=file_id).first()


def _entries(request, implementation, case: Case) -> tuple[list, dict]:
    """The materials as posted (new uploads attached to the case), and errors per material. A
    refused upload leaves what was given for its material before (if anything) in place; the
    other files of the post are attached all the same."""
    given = {m["material_id"]: m for m in case.materials}
    entries, errors = [], {}
    for row in implementation.materials.all():
        material_id = row.guide_material_id
        field = f"material-{material_id}"
        removed = request.POST.get(f"remove-{material_id}") == "1"
        if field in request.FILES or field in getattr(request, "uploads_too_large", ()):
            try:
                upload = uploaded_file(request, field)
                stored = actions.attach_file(
                    case,
                    actor=request.user,
                    material_id=material_id,
                    upload=upload,
                    request=request,
                )
            except (UploadRefused, ValidationError) as error:
                errors[material_id] = (
                    error.messages if isinstance(error, ValidationError) else [str(error)]
                )
                if material_id in given and not removed:
                    entries.append(given[material_id])
                continue
            request._stored_files.append(stored)
            entries.append(_upload_entry(stored))
            continue
        license = request.POST.get(f"license-{material_id}", "")
        if license and not removed:  # the ticked box is the applicant's consent
            entries.append(
                {
                    "material_id": material_id,
                    "kind": "license",
                    "license_identifier": license[:128],
                    "consent": True,
                }
            )
            continue
        reuse = request.POST.get(f"reuse-{material_id}", "")
        kept = (
            _kept_file(request, case, material_id)
            if not removed and f"kept-{material_id}" in request.POST
            else None
        )
        if reuse:
            entries.append(
                {"material_id": material_id, "kind": "reused", "result_case_number": reuse[:60]}
            )
        elif kept is not None:
            entries.append(_upload_entry(kept))
        elif row.as_form_section:
            entries.append({"material_id": material_id, "kind": "form_section"})
        elif material_id in given and not removed and given[material_id]["kind"] != "license":
            entries.append(given[material_id])  # an unticked e-license is no longer given
    return entries, errors


def _upload_entry(file: CaseFile) -> dict:
    return {
        "material_id": file.material_id,
        "kind": "upload",
        "file_id": str(file.public_id),
        "sha256": file.sha256,
    }


def _material_errors(entries: list, errors: dict) -> tuple[dict, list]:
    """The actions' `materials.<index>` errors by material id; the rest (`materials`) apart."""
    by_material, rest = {}, []
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "materials" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(entries):
                by_material.setdefault(entries[index]["material_id"], []).extend(messages)
                continue
        rest.extend(messages)
    return by_material, rest


def _keep_draft(request, draft: Case, data: dict | None, entries: list) -> bool:
    """Save what a failed post of the application form gave to the draft, as far as a draft
    takes it: the answers and the materials, else the materials alone, else only the files
    uploaded. False if not even that fits (the whole post is then rolled back)."""
    uploaded = [e for e in entries if e["kind"] == "upload"]
    for form_data, materials in ((data, entries), (None, entries), (None, uploaded)):
        try:
            actions.save_draft(
                draft,
                actor=request.user,
                form_data=form_data,
                materials=materials,
                request=request,
            )
            return True
        except ValidationError:
            continue
    return False


def _file_application(request, implementation, case: Case | None, intent: str):
    """Apply one post of the application form (`save_draft`, `submit` or `resubmit`): a new
    draft if there is none yet, the uploaded files, the answers. Raises _Invalid with the page's
    context when anything is wrong.

    The files of a post that were accepted are not thrown away because another file of it was
    refused, nor because a resubmission failed (the applicant would have to find and send them
    again): they are attached to the case and the page shows the errors beside what was
    refused. For an application (`save_draft`, `submit`) they are kept in the draft, with the
    answers as far as a draft takes them (an incomplete submission keeps what was given too).
    For a resubmission the case's material list changes only when the resubmission succeeds (it
    is one step, checked in full, that the unit sees once): the files accepted meanwhile stay
    files of the case (attach_file, audited) that its materials do not name yet, and the page
    offers each again beside its material (a hidden `kept-<material id>`, also on a later
    visit), so the next post uses them without uploading them again. Answers that can't even be
    read in an application, or that do not fit a draft, roll the whole post back (its stored
    files deleted), as before."""
    schema = implementation.form_schema or {}
    data, fields = forms.read_form(schema, request.POST)
    unreadable = any(f.errors for f in fields)  # answers that could not even be read
    request._stored_files = []
    state = {"fields": fields, "material_errors": {}, "errors": []}

    def kept(target):
        """Commit what can be kept of a failed post; the page then shows its errors."""
        if intent != "resubmit":
            if not _keep_draft(request, target, None if unreadable else data, entries):
                raise _Invalid
        state["kept"] = target
        if intent == "resubmit":
            return reverse("cases:my_case", args=[target.public_id])
        return f"{reverse('cases:apply', args=[implementation.code])}?case={target.public_id}"

    def run():
        nonlocal entries
        target = case
        if target is None:
            target = actions.save_draft(
                actor=request.user,
                implementation=implementation,
                on_behalf_of=getattr(request, "acting_for", None),
                request=request,
            )
        entries, material_errors = _entries(request, implementation, target)
        state["material_errors"] = material_errors
        if unreadable or material_errors:
            try:  # what could be read is checked too, so that every error shows at once
                check_form(schema, data, complete=intent != "save_draft")
            except ValidationError as error:
                state["errors"] += forms.place_errors(fields, error.message_dict)
            if not request._stored_files or not (material_errors or intent == "resubmit"):
                # Nothing to keep, or answers that can't even be read: all rolled back.
                raise _Invalid
            return kept(target)
        run_intent = {
            "save_draft": actions.save_draft,
            "submit": actions.submit,
            "resubmit": actions.resubmit,
        }[intent]
        try:
            done = run_intent(
                target, actor=request.user, form_data=data, materials=entries, request=request
            )
        except ValidationError as error:
            by_field = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            state["errors"] += forms.place_errors(fields, by_field)
            by_material, rest = _material_errors(
                entries, {k: v for k, v in by_field.items() if k.startswith("materials")}
            )
            for material_id, messages in by_material.items():
                state["material_errors"].setdefault(material_id, []).extend(messages)
            state["errors"] += rest
            if intent == "save_draft" or (intent == "resubmit" and not request._stored_files):
                raise _Invalid from None
            # Not yet complete: what was given is kept (uploads included), so that only the
            # missing parts have to be added.
            return kept(target)
        if intent == "save_draft":
            return f"{reverse('cases:apply', args=[implementation.code])}?case={done.public_id}&saved=1"
        return reverse("cases:my_case", args=[done.public_id])

    entries = []
    try:
        location = _idempotent(request, run)
        if "kept" in state:
            if intent != "resubmit":
                state["kept_draft"] = state["kept"]
                state["errors"].insert(
                    0,
                    _("Your draft was saved with the files that were accepted, but:")
                    if state["material_errors"]
                    else _("Your draft was saved, but it can't be submitted yet:"),
                )
            else:
                state["errors"].insert(
                    0,
                    _(
                        "Not resubmitted yet. The files that were accepted are kept for your"
                        " resubmission:"
                    ),
                )
            raise _Invalid(state)
        return location, state
    except _Invalid as invalid:
        if invalid.args and isinstance(invalid.args[0], dict):
            raise
        if invalid.args:
            state["errors"].append(invalid.args[0])
        raise _Invalid(state) from None
    except (PermissionDenied, transitions.CaseConflict) as error:
        state["errors"].append(str(error.args[0]) if error.args else _("Not allowed."))
        raise _Invalid(state) from None
    finally:
        # Files stored for a post that did not commit are removed from storage.
        kept_rows = set(
            CaseFile.objects.filter(pk__in=[f.pk for f in request._stored_files]).values_list(
                "pk", flat=True
            )
        )
        for stored in request._stored_files:
            if stored.pk not in kept_rows:
                delete_upload(stored.stored)


# --- applying ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def apply(request, code):
    """The application form of one item this unit implements."""
    implementation = _service(request, code)
    if implementation.online_depth < OnlineDepth.SUBMISSION:
        # The guide says where to apply in person.
        return HttpResponseRedirect(reverse("services:guide", args=[implementation.code]))
    case = None
    case_id = request.GET.get("case") or request.POST.get("case") or ""
    if case_id:
        try:
            case = _my_case(request, uuid.UUID(case_id[:36]))
        except ValueError:
            raise Http404 from None
        if case.state != State.DRAFT or case.implementation_id != implementation.pk:
            raise Http404(_("No such draft of yours here."))
    status, context = 200, {}
    if request.method == "POST":
        intent = {"save": "save_draft", "submit": "submit"}.get(request.POST.get("action"))
        if intent is None:
            context = {"errors": [_("Save the draft or submit the application.")]}
            status = 400
        else:
            try:
                location, _state = _file_application(request, implementation, case, intent)
                return HttpResponseRedirect(location)
            except _Invalid as invalid:
                context, status = invalid.args[0], 400
                kept = context.get("kept_draft") or case
                case = Case.objects.filter(pk=kept.pk).first() if kept else None
    fields = context.get("fields") or forms.fields_of(
        implementation.form_schema, case.form_data if case else None
    )
    return render(
        request,
        "cases/apply.html",
        {
            "s": implementation,
            "case": case,
            "fields": fields,
            "materials": _materials_view(
                implementation, case, request, context.get("material_errors")
            ),
            "errors": context.get("errors", []),
            "saved": request.GET.get("saved") == "1" and case is not None,
            "idempotency_key": uuid.uuid4(),
            "acting_for": getattr(request, "acting_for", None),
        },
        status=status,
    )


# --- my cases ---------------------------------------------------------------------------------


@login_required
@require_safe
def my_cases(request):
    page = page_for(request, _my_cases(request))
    for case in page:
        case.time_left = display.time_left(case.state, case.due_at, case.deadline_flag)
    return render(
        request,
        "cases/my_cases.html",
        {"page": page, "acting_for": getattr(request, "acting_for", None)},
    )


def case_page(request, case: Case, *, status=200, context=None):
    context = context or {}
    roles = {transitions.APPLICANT}
    if case.proxy_agent_id == request.user.pk:
        roles.add(transitions.PROXY_AGENT)
    intents = transitions.intents_for(case.state, roles)
    from shared_apps.ratings.views import case_rating  # the ratings app builds on cases

    implementation = None
    if "resubmit" in intents:
        implementation = catalog_queries.guide(case.implementation_code, request.tenant)
    fields = context.get("fields")
    if fields is None and implementation is not None:
        fields = forms.fields_of(implementation.form_schema, case.form_data)
    files = {str(f.public_id): f for f in CaseFile.objects.filter(case=case)}
    history = list(queries.history(case))
    for event in history:
        event.intent_label = transitions.intent_label(event.intent)
    names = {}
    if case.materials:
        from shared_apps.catalog.models import GuideMaterial

        names = dict(
            GuideMaterial.objects.filter(
                pk__in=[m["material_id"] for m in case.materials]
            ).values_list("pk", "name")
        )
    return render(
        request,
        "cases/my_case.html",
        {
            "case": case,
            "state_label": State(case.state).label,
            "time_left": display.time_left(case.state, case.due_at, case.deadline_flag),
            "intents": intents,
            "given": [
                {
                    "name": names.get(m["material_id"], m["material_id"]),
                    "entry": m,
                    "file": files.get(m.get("file_id", "")),
                }
                for m in case.materials
            ],
            "documents": documents.documents_for(case),
            "orders": [
                (order, portal_url(f"/pay/{order.slip_number}", request))
                for order in orders_of_case(request.tenant, case.public_id)
            ],
            "history": history,
            "fields": fields,
            "materials": _materials_view(
                implementation,
                case,
                request,
                context.get("material_errors"),
                pending_since=max(
                    (e.at for e in history if e.intent == "request_corrections"), default=None
                ),
            )
            if implementation
            else [],
            "errors": context.get("errors", []),
            "withdraw_errors": context.get("withdraw_errors", []),
            "idempotency_key": uuid.uuid4(),
            **(context.get("rating_override") or case_rating(case, request.user)),
        },
        status=status,
    )


@login_required
@require_safe
def my_case(request, public_id):
    return case_page(request, _my_case(request, public_id))


@login_required
@require_POST
def resubmit(request, public_id):
    case = _my_case(request, public_id)
    implementation = catalog_queries.guide(case.implementation_code, request.tenant)
    if implementation is None:
        raise Http404(_("This unit does not offer this service."))
    try:
        location, _state = _file_application(request, implementation, case, "resubmit")
    except _Invalid as invalid:
        case.refresh_from_db()
        return case_page(request, case, status=400, context=invalid.args[0])
    return HttpResponseRedirect(location)


@login_required
@require_POST
def withdraw(request, public_id):
    case = _my_case(request, public_id)
    errors = []
    if request.POST.get("confirm") != "yes":
        errors.append(_("Tick the box to confirm that you withdraw this application."))
    try:
        reason = clean_text(request.POST.get("reason", ""), "reason", max_length=500)
    except ValidationError as error:
        errors.extend(error.messages)
    if not errors:

        def run():
            actions.withdraw(case, actor=request.user, reason=reason, request=request)
            return reverse("cases:my_case", args=[case.public_id])

        try:
            return HttpResponseRedirect(_idempotent(request, run))
        except _Invalid as invalid:
            errors.append(invalid.args[0])
        except (PermissionDenied, transitions.CaseConflict) as error:
            errors.append(str(error.args[0]) if error.args else _("Not allowed."))
    case.refresh_from_db()
    return case_page(request, case, status=400, context={"withdraw_errors": errors})


# --- files ------------------------------------------------------------------------------------


def reader_of(user, case: Case, tenant) -> str | None:
    """ "filer": the applicant, or the agent who filed it (while acting for the applicant under a
    valid consent here); "staff": the unit's staff verified with their second factor; None: no
    right to the case."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.pk == case.applicant_id:
        return "filer"
    held = authz.roles_in(user, tenant)
    if user.pk == case.proxy_agent_id and Role.PROXY_AGENT in held:
        from shared_apps.accounts.models import User
        from shared_apps.accounts.queries import valid_consent

        try:
            valid_consent(agent=user, citizen=User.objects.get(pk=case.applicant_id), tenant=tenant)
            return "filer"
        except (PermissionDenied, User.DoesNotExist):
            pass
    if held & STAFF_READERS and user.is_verified():
        return "staff"
    return None


def may_read_case(user, case: Case, tenant) -> bool:
    """The applicant, the agent who filed it (while acting for the applicant under a valid
    consent here), and the unit's staff verified with their second factor."""
    return reader_of(user, case, tenant) is not None


@require_safe
def case_file(request, public_id, file_id):
    """A case's file, to those who may read the case; 404 to anyone else (whether the case
    exists here is not theirs to know)."""
    file = (
        CaseFile.objects.select_related("case")
        .filter(public_id=file_id, case__public_id=public_id)
        .first()
    )
    reader = reader_of(request.user, file.case, request.tenant) if file is not None else None
    if reader is None:
        raise Http404(_("No such file."))
    if reader == "staff":
        # Staff (a right checked above): every look at a citizen's file is audited.
        actions.record_file_download(file.case, actor=request.user, file=file, request=request)
    return serve_upload(
        request,
        file.stored,
        authorize=lambda _user, _stored: True,  # reader_of above
    )
