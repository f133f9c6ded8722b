"""The PDF rendering of an e-license (电子证照文件, GB/T 36905): its printed fields, the data
items, and a QR code to the public check page on the portal, then signed with PAdES
(signing.sign_pdf). Official documents are in Chinese whatever the reader's language."""

import io

from django.urls import reverse
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from tenant_apps.cases.documents import FONT, QrCode
from tenants.links import portal_url

PORTAL_URLS = "govplatform.urls_portal"


def check_url(identifier: str, request=None) -> str:
    return portal_url(reverse("license-check", urlconf=PORTAL_URLS, args=[identifier]), request)


def _escape(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(license, request=None) -> bytes:
    """The unsigned PDF; its document subject is the identifier (read back on verification)."""
    title = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=30, alignment=1)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=11, leading=16, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=FONT, fontSize=8, leading=11, wordWrap="CJK")
    holder_id = license.holder_credit_code or license.holder_id_masked
    rows = [
        ("证照名称", license.name),
        ("证照编号", license.number),
        ("持证主体", license.holder_name),
        ("持证主体代码", holder_id),
        ("颁发机构", license.issuer_name),
        ("颁发机构代码", license.issuer_code),
        ("颁发日期", license.issued_on.isoformat()),
        ("有效期至", license.valid_until.isoformat() if license.valid_until else "长期"),
        *((str(key), str(value)) for key, value in sorted(license.data.items())),
        ("电子证照标识", license.identifier),
    ]
    url = check_url(license.identifier, request)
    story = [
        Paragraph(_escape(license.name), title),
        Spacer(1, 8 * mm),
        Table(
            [[Paragraph(_escape(k), cell), Paragraph(_escape(v), cell)] for k, v in rows],
            colWidths=[40 * mm, 120 * mm],
        ),
        Spacer(1, 10 * mm),
        QrCode(url, 30 * mm),
        Paragraph(_escape(f"扫码或打开以下地址核验本证照：{url}"), small),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=f"{license.name} {license.number}",
        author=license.issuer_name,
        subject=license.identifier,
        creator=license.issuer_name,
        invariant=1,
    ).build(story)
    return buffer.getvalue()
