"""The documents of a case (办件文书): the acceptance notice (受理通知书) once it was accepted and
the decision (准予/不予许可决定书) once decided, as PDFs made on request (never stored), each with
the case number and a QR code pointing to the public check page of the unit (/verify/<number>?c=
<check code>) where anyone holding the paper can see that the unit issued it.

The check code is an HMAC (Django's SECRET_KEY, a salt of its own) of the document's kind and the
case number, truncated: it can't be guessed from the number, and a code of one document doesn't
check another. A PDF is the same bytes for the same case (reportlab's `invariant` mode: no
creation time, a fixed document id), so two downloads are identical.

Official documents are in Chinese whatever the reader's language: the texts are gettext strings
rendered under the platform's language (settings.LANGUAGE_CODE), as e-mails are.
"""

import io
from dataclasses import dataclass

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

from shared_apps.accounts.models import Organisation, User
from shared_apps.catalog.models import Implementation
from shared_apps.ratings import tokens as rating_tokens
from tenant_apps.cases import clock
from tenant_apps.cases.models import Decision
from tenant_apps.departments.queries import current_tenant
from tenants.links import tenant_url

ACCEPTANCE_NOTICE = "acceptance-notice"
DECISION = "decision"
KINDS = (ACCEPTANCE_NOTICE, DECISION)
TITLES = {
    ACCEPTANCE_NOTICE: gettext_lazy("Acceptance notice"),
    DECISION: gettext_lazy("Decision"),
}
# The pages live on the unit's site, whichever site (the portal) asks for their addresses.
TENANT_URLS = "govplatform.urls_tenant"
CHECK_CODE_LENGTH = 16  # hex digits: 64 bits
_SALT = "tenant_apps.cases.documents.check_code"
FONT = "STSong-Light"  # reportlab's built-in CID font: Chinese with no font file
# Reconsideration within 60 days (Administrative Reconsideration Law §20), a suit within six
# months (Administrative Procedure Law §46).
RECONSIDERATION_DAYS = 60
LAWSUIT_MONTHS = 6

pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@dataclass(frozen=True)
class Issued:
    """What a document says about its case (also what the check page shows, masked)."""

    kind: str
    title: str
    number: str
    item: str
    unit: str
    department: str
    applicant: str
    date: object  # the day of acceptance or decision (local)


# --- what exists, and the check code ----------------------------------------------------------


def exists(case, kind: str) -> bool:
    if not case.number:
        return False
    if kind == ACCEPTANCE_NOTICE:
        return case.accepted_at is not None
    if kind == DECISION:
        return case.decided_at is not None and case.decision in Decision.values
    return False


def documents_for(case) -> list[dict]:
    """The documents this case has now: [{"kind", "title", "url"}], the URL a path on the unit's
    subdomain (where the case pages are)."""
    return [
        {
            "kind": kind,
            "title": str(document_title(case, kind)),
            "url": reverse("case-document", args=[case.public_id, kind], urlconf=TENANT_URLS),
        }
        for kind in KINDS
        if exists(case, kind)
    ]


def document_title(case, kind: str) -> str:
    if kind == DECISION:
        if case.decision == Decision.APPROVED:
            return _("Decision to grant the licence")
        return _("Decision not to grant the licence")
    return str(TITLES[kind])


def check_code(case, kind: str) -> str:
    """The check code printed (in the QR code's URL) on this case's document of `kind`."""
    return salted_hmac(_SALT, f"{kind}\n{case.number}").hexdigest()[:CHECK_CODE_LENGTH]


def matching_kind(case, code: str) -> str | None:
    """The kind of the case's existing document whose check code is `code` (compared in
    constant time), or None."""
    found = None
    for kind in KINDS:
        expected = check_code(case, kind) if case is not None else "0" * CHECK_CODE_LENGTH
        if constant_time_compare(expected, code or "") and case is not None and exists(case, kind):
            found = kind
    return found


def verify_url(case, kind: str, request=None) -> str:
    """The check page's absolute address on the unit's subdomain."""
    path = reverse("case-verify", args=[case.number], urlconf=TENANT_URLS)
    path += f"?c={check_code(case, kind)}"
    return tenant_url(current_tenant(), path, request)


# --- who and what -----------------------------------------------------------------------------


def applicant_name(case) -> str:
    if case.organisation_id:
        organisation = Organisation.objects.filter(pk=case.organisation_id).first()
        if organisation is not None:
            return organisation.name
    person = User.objects.filter(pk=case.applicant_id).first()
    if person is None:
        return ""
    return person.real_name or person.get_username()


def masked_name(name: str, *, organisation: bool = False) -> str:
    """A name with its middle hidden: 王*、张*丰; an organisation keeps a little more."""
    name = name.strip()
    if organisation and len(name) > 4:
        return name[:2] + "*" * (len(name) - 4) + name[-2:]
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def issued(case, kind: str) -> Issued:
    at = case.accepted_at if kind == ACCEPTANCE_NOTICE else case.decided_at
    return Issued(
        kind=kind,
        title=document_title(case, kind),
        number=case.number,
        item=case.item_name,
        unit=current_tenant().name,
        department=case.department_name,
        applicant=applicant_name(case),
        date=clock.local_day(at),
    )


def _day(value) -> str:
    return date_format(value, "DATE_FORMAT") if value else ""


# --- the PDFs ---------------------------------------------------------------------------------


class QrCode(Flowable):
    """A QR code drawn as vector squares (no image library, the same bytes every time)."""

    def __init__(self, data: str, size: float):
        super().__init__()
        self.qr = segno.make(data, error="m", micro=False)
        self.size = size

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self):
        rows = list(self.qr.matrix_iter(scale=1, border=2))
        module = self.size / len(rows)
        canvas = self.canv
        canvas.setFillColorRGB(0, 0, 0)
        for y, row in enumerate(rows):
            x = 0
            row = list(row)
            while x < len(row):
                if not row[x]:
                    x += 1
                    continue
                start = x
                while x < len(row) and row[x]:
                    x += 1
                canvas.rect(
                    start * module,
                    self.size - (y + 1) * module,
                    (x - start) * module,
                    module,
                    stroke=0,
                    fill=1,
                )


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body", fontName=FONT, fontSize=12, leading=21, wordWrap="CJK", firstLineIndent=24
    )
    return {
        "title": ParagraphStyle(
            "title", fontName=FONT, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=6
        ),
        "number": ParagraphStyle(
            "number", fontName=FONT, fontSize=11, leading=18, alignment=TA_CENTER, spaceAfter=14
        ),
        "to": ParagraphStyle("to", parent=body, firstLineIndent=0, spaceBefore=4),
        "body": body,
        "sign": ParagraphStyle("sign", parent=body, alignment=TA_RIGHT, firstLineIndent=0),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK"),
    }


def _escape(text) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\x00", "")
    )


def _pdf(case, kind: str, paragraphs: list[str], request=None, rating_url: str = "") -> bytes:
    facts = issued(case, kind)
    styles = _styles()
    url = verify_url(case, kind, request)
    story = [
        Paragraph(_escape(facts.unit), styles["number"]),
        Paragraph(_escape(facts.title), styles["title"]),
        Paragraph(
            _escape(_("Case number: %(number)s") % {"number": facts.number}), styles["number"]
        ),
        Paragraph(_escape(_("%(applicant)s:") % {"applicant": facts.applicant}), styles["to"]),
        *(Paragraph(_escape(text), styles["body"]) for text in paragraphs),
        Spacer(1, 12 * mm),
        Paragraph(_escape(f"{facts.unit}　{facts.department}"), styles["sign"]),
        Paragraph(_escape(_day(facts.date)), styles["sign"]),
        Spacer(1, 10 * mm),
    ]
    story += [
        QrCode(url, 30 * mm),
        Spacer(1, 2 * mm),
        Paragraph(
            _escape(
                _(
                    "Scan the code or open the address below to check this document on the "
                    "unit's site:"
                )
            ),
            styles["small"],
        ),
        Paragraph(_escape(url), styles["small"]),
    ]
    if rating_url:  # 扫码评价: the case's one-time rating code (shared_apps.ratings.tokens)
        story += [
            Spacer(1, 6 * mm),
            QrCode(rating_url, 30 * mm),
            Spacer(1, 2 * mm),
            Paragraph(
                _escape(
                    _(
                        "Once you have the result, scan this code to rate the service "
                        "once, without signing in:"
                    )
                ),
                styles["small"],
            ),
            Paragraph(_escape(rating_url), styles["small"]),
        ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=f"{facts.title} {facts.number}",
        author=facts.unit,
        subject=facts.item,
        creator=facts.unit,
        invariant=1,
    ).build(story)
    return buffer.getvalue()


def acceptance_notice_pdf(case, request=None) -> bytes:
    """受理通知书: the case was accepted; its time limits, due day, and where the result is had."""
    if not exists(case, ACCEPTANCE_NOTICE):
        raise ValueError("This case has not been accepted.")
    implementation = Implementation.objects.filter(pk=case.implementation_id).first()
    with translation.override(settings.LANGUAGE_CODE):
        paragraphs = [
            _(
                "Your application for “%(item)s” submitted on %(submitted)s has complete "
                "materials in the legal form. %(unit)s accepted it on %(accepted)s."
            )
            % {
                "item": case.item_name,
                "submitted": _day(clock.local_day(case.submitted_at or case.accepted_at)),
                "unit": current_tenant().name,
                "accepted": _day(clock.local_day(case.accepted_at)),
            },
        ]
        if case.promised_days == 0:
            paragraphs.append(_("This item is handled on the spot (same-day item)."))
        else:
            limits = _(
                "Promised time limit: %(promised)s working days (statutory time limit: "
                "%(statutory)s working days), counted from the day of acceptance."
            ) % {"promised": case.promised_days, "statutory": case.statutory_days}
            due = clock.local_day(case.due_at) if case.due_at else None
            if due is not None:
                limits += _(" It is to be decided by %(due)s.") % {"due": _day(due)}
            paragraphs.append(limits)
            paragraphs.append(
                _(
                    "Time for corrections, hearings, testing, appraisal or expert review is not "
                    "counted in the time limit; you will be told of any such pause."
                )
            )
        if implementation is not None:
            paragraphs.append(
                _(
                    "Where to get the result: online on this platform, or at %(place)s "
                    "(%(hours)s). Enquiries: %(phone)s."
                )
                % {
                    "place": implementation.place,
                    "hours": implementation.hours,
                    "phone": implementation.enquiry_phone,
                }
            )
        paragraphs.append(_("Please keep this notice and quote the case number in enquiries."))
        return _pdf(
            case,
            ACCEPTANCE_NOTICE,
            paragraphs,
            request,
            rating_url=rating_tokens.rating_url(current_tenant(), case, request),
        )


def decision_pdf(case, request=None) -> bytes:
    """准予/不予许可决定书: the decision, its reasons and legal basis, the right to appeal."""
    if not exists(case, DECISION):
        raise ValueError("This case has not been decided.")
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "item": case.item_name,
            "submitted": _day(clock.local_day(case.submitted_at or case.decided_at)),
            "unit": current_tenant().name,
        }
        if case.decision == Decision.APPROVED:
            decided = _(
                "%(unit)s examined your application for “%(item)s” submitted on %(submitted)s "
                "according to law and decides to grant the licence."
            )
        else:
            decided = _(
                "%(unit)s examined your application for “%(item)s” submitted on %(submitted)s "
                "according to law and decides not to grant the licence."
            )
        paragraphs = [decided % facts]
        if case.decision_reasons:
            paragraphs.append(_("Reasons: %(reasons)s") % {"reasons": case.decision_reasons})
        paragraphs.append(_("Legal basis: %(basis)s") % {"basis": case.decision_legal_basis})
        paragraphs.append(
            _(
                "If you disagree with this decision, you may apply for administrative "
                "reconsideration within %(days)s days of receiving it, or bring an administrative "
                "lawsuit before a people's court within %(months)s months of receiving it."
            )
            % {"days": RECONSIDERATION_DAYS, "months": LAWSUIT_MONTHS}
        )
        return _pdf(case, DECISION, paragraphs, request)


def pdf(case, kind: str, request=None) -> bytes:
    return {ACCEPTANCE_NOTICE: acceptance_notice_pdf, DECISION: decision_pdf}[kind](
        case, request=request
    )
