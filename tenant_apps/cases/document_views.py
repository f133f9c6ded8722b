"""The documents of a case on the unit's subdomain: the PDFs for the applicant (or their proxy
agent) and the unit's staff, and the public check page their QR codes point to."""

import re

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shared_apps.audit.actions import Actor
from tenant_apps.cases import actions, documents, transitions
from tenant_apps.cases.actions import _roles_of
from tenant_apps.cases.models import Case, Decision

# Case numbers are implementation code + date + sequence: letters and digits only.
_NUMBER = re.compile(r"[0-9A-Za-z]{1,50}", re.ASCII)
_CODE = re.compile(r"[0-9a-f]{1,64}", re.ASCII)


def reader_role(request, case) -> str | None:
    """What the signed-in person is to the case: "filer" (the applicant, or the proxy agent under
    a consent valid now), "staff" (a staff role in this unit, signed in with the second factor),
    or None (no right to it)."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return None
    roles = _roles_of(Actor(user=user), case, request.tenant)
    if roles & transitions.FILERS:
        return "filer"
    if roles & transitions.STAFF_ROLES and user.is_verified():
        return "staff"
    return None


@never_cache
@require_GET
def case_document(request, public_id, kind):
    if kind not in documents.KINDS:
        raise Http404
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    case = Case.objects.filter(public_id=public_id).first()
    # Someone without a right to the case learns nothing, not even that it exists.
    if case is None or not documents.exists(case, kind):
        raise Http404
    role = reader_role(request, case)
    if role is None:
        raise Http404
    if role == "staff":
        actions.record_document_download(case, actor=request.user, kind=kind, request=request)
    content = documents.pdf(case, kind, request=request)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{case.number}-{kind}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def verify(request, number):
    """核验: anyone holding a document checks that this unit issued it. Only the item, the unit,
    the decision, the date and the masked name of the applicant are shown."""
    code = request.GET.get("c", "")
    case = None
    if _NUMBER.fullmatch(number) and _CODE.fullmatch(code):
        case = Case.objects.filter(number=number).first()
    kind = documents.matching_kind(case, code)
    if kind is None:
        return render(request, "cases/verify.html", {"number": number[:50]}, status=404)
    facts = documents.issued(case, kind)
    context = {
        "facts": facts,
        "applicant": documents.masked_name(
            facts.applicant, organisation=bool(case.organisation_id)
        ),
        "decision": Decision(case.decision).label if kind == documents.DECISION else "",
    }
    return render(request, "cases/verify.html", context)
