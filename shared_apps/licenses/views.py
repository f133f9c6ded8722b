"""The public check page of e-licenses (电子证照核验) on the portal: from the QR code on the PDF
(/licenses/check/<identifier>), by typing an identifier, or by uploading the PDF. It says whether
the license is genuine, its status and its issuer — nothing about the holder."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from shared_apps.licenses import actions, queries
from shared_apps.licenses.models import License

MAX_PDF_BYTES = 5 * 1024 * 1024
USES_SHOWN = 50


@require_http_methods(["GET", "POST"])
def check(request, identifier: str = ""):
    result, problem = None, ""
    if request.method == "POST":
        upload = request.FILES.get("pdf")
        if upload is None:
            typed = request.POST.get("identifier", "").strip()[:128]
            if typed and "/" not in typed:
                return redirect("license-check", identifier=typed)
            if typed:
                result = queries.verify(typed)  # says what is wrong with its structure
            else:
                problem = "请输入电子证照标识，或选择证照 PDF 文件。"
        elif upload.size > MAX_PDF_BYTES:
            problem = "文件过大（不超过 5 MB）。"
        else:
            result = queries.verify_pdf(upload.read())
    elif identifier:
        result = queries.verify(identifier)
    return render(request, "licenses/check.html", {"result": result, "problem": problem})


# --- the holder's wallet (我的证照) on the portal --------------------------------------------------


def _held(request, identifier: str):
    license = queries.held_license(request.user, identifier[:128])
    if license is None:
        raise Http404
    return license


@login_required
@require_safe
def wallet(request):
    licenses = list(queries.wallet(request.user).select_related("key"))
    for license in licenses:
        license.effective = queries.effective_status(license)
        license.status_text = queries.STATUS_TEXT[license.effective]
        license.recent_uses = list(queries.uses_of(license)[:USES_SHOWN])
    return render(request, "licenses/wallet.html", {"licenses": licenses})


@login_required
@require_safe
def download(request, identifier: str):
    license = _held(request, identifier)
    actions.record_download(license, actor=request.user, request=request)
    pdf = License.objects.values_list("pdf", flat=True).get(pk=license.pk)
    response = HttpResponse(bytes(pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="license-{license.serial}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def share(request, identifier: str):
    license = _held(request, identifier)
    try:
        hours = int(request.POST.get("hours", ""))
    except ValueError:
        hours = 0
    try:
        row, code = actions.share(license, actor=request.user, hours=hours, request=request)
    except ValidationError as error:
        return render(
            request, "licenses/shared_code.html", {"problem": "；".join(error.messages)}, status=422
        )
    link = request.build_absolute_uri(reverse("license-shared", args=[code]))
    return render(
        request,
        "licenses/shared_code.html",
        {"license": license, "code": code, "link": link, "expires_at": row.expires_at},
    )


@require_http_methods(["GET", "POST"])
def shared(request, code: str = ""):
    """A license shared by its holder: with the code, its details and the holder's name."""
    if request.method == "POST":
        typed = request.POST.get("code", "").strip().upper()[:40]
        if typed and "/" not in typed:
            return redirect("license-shared", code=typed)
    license, result = None, None
    if code:
        actor = request.user if request.user.is_authenticated else "public:share"
        license = actions.open_share(code.upper()[:40], actor=actor, request=request)
        if license is not None:
            result = queries.verify(license.identifier)
    return render(
        request,
        "licenses/shared.html",
        {"license": license, "result": result, "code": code},
        status=404 if code and license is None else 200,
    )
