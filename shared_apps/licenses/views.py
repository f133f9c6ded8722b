"""The public check page of e-licenses (电子证照核验) on the portal: from the QR code on the PDF
(/licenses/check/<identifier>), by typing an identifier, or by uploading the PDF. It says whether
the license is genuine, its status and its issuer — nothing about the holder."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from shared_apps.licenses import queries

MAX_PDF_BYTES = 5 * 1024 * 1024


@require_http_methods(["GET", "POST"])
def check(request, identifier: str = ""):
    result, problem = None, ""
    if request.method == "POST":
        upload = request.FILES.get("pdf")
        if upload is None:
            typed = request.POST.get("identifier", "").strip()
            if typed:
                return redirect("license-check", identifier=typed[:128])
            problem = "请输入电子证照标识，或选择证照 PDF 文件。"
        elif upload.size > MAX_PDF_BYTES:
            problem = "文件过大（不超过 5 MB）。"
        else:
            result = queries.verify_pdf(upload.read())
    elif identifier:
        result = queries.verify(identifier)
    return render(request, "licenses/check.html", {"result": result, "problem": problem})
