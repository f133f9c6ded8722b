"""The receipt of a paid order (缴费电子票据, in the manner of a 财政电子票据): a PDF made on request
(never stored) with the slip number, the payer (masked), the fee items, the amount and a QR code
opening the portal's check page (/pay/<slip>/check?c=<code>), which says whether the platform
issued it.

The check code is an HMAC (SECRET_KEY, a salt of its own) of the slip number, the amount and the
provider's transaction number, truncated like the case documents' codes: it can't be guessed, and
a receipt altered in its amount doesn't check. The PDF is the same bytes for the same order
(reportlab's `invariant` mode). In Chinese whatever the reader's language, like the documents.
"""

import io

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tenant_apps.cases.documents import FONT, QrCode, masked_name
from tenants.links import portal_url

CHECK_CODE_LENGTH = 16
_SALT = "shared_apps.payments.receipts.check_code"


def check_code(order) -> str:
    text = f"receipt\n{order.slip_number}\n{order.total:.2f}\n{order.provider_reference}"
    return salted_hmac(_SALT, text).hexdigest()[:CHECK_CODE_LENGTH]


def is_genuine(order, code: str) -> bool:
    """Whether `code` is the check code of this order's receipt (a paid order has one)."""
    expected = check_code(order) if order is not None else "0" * CHECK_CODE_LENGTH
    matches = constant_time_compare(expected, code or "")
    return matches and order is not None and order.state == "paid"


def check_url(order, request=None) -> str:
    path = reverse("payments:check", args=[order.slip_number]) + f"?c={check_code(order)}"
    return portal_url(path, request)


def payer_name(order) -> str:
    return masked_name(order.payer.real_name or order.payer.get_username())


def _escape(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def receipt_pdf(order, request=None) -> bytes:
    if order.state != "paid":
        raise ValueError("Only a paid order has a receipt.")
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=10.5, leading=15, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=30, alignment=TA_CENTER)
    small = ParagraphStyle("small", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
    url = check_url(order, request)
    with translation.override(settings.LANGUAGE_CODE):
        facts = [
            (_("Payment slip number"), order.slip_number),
            (_("Payer"), payer_name(order)),
            (_("Collecting unit"), f"{order.tenant.name} {order.department_name}"),
            (_("Item"), order.item_name),
            (_("Paid at"), f"{localtime(order.paid_at):%Y-%m-%d %H:%M}"),
            (_("Transaction number"), order.provider_reference),
        ]
        rows = [[_("Fee item"), _("Legal basis"), _("Amount (yuan)")]]
        rows += [[item.name, item.legal_basis, f"{item.amount:.2f}"] for item in order.items.all()]
        rows.append([_("Total"), "", f"{order.total:.2f}"])
        story = [
            Paragraph(_escape(_("Electronic receipt for a fee paid")), title),
            Spacer(1, 6 * mm),
            Table(
                [[Paragraph(_escape(k), cell), Paragraph(_escape(v), cell)] for k, v in facts],
                colWidths=[40 * mm, 120 * mm],
            ),
            Spacer(1, 6 * mm),
            Table(
                [[Paragraph(_escape(value), cell) for value in row] for row in rows],
                colWidths=[55 * mm, 75 * mm, 30 * mm],
                style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0))]),
            ),
            Spacer(1, 10 * mm),
            QrCode(url, 30 * mm),
            Spacer(1, 2 * mm),
            Paragraph(
                _escape(_("Scan the code or open the address below to check this receipt:")),
                small,
            ),
            Paragraph(_escape(url), small),
        ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=order.slip_number,
        author=order.tenant.name,
        invariant=1,
    ).build(story)
    return buffer.getvalue()
