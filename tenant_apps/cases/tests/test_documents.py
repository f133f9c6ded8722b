"""The documents of a case (issue 10, item 7): the acceptance notice and the decision as PDFs with
the case number and a QR code pointing to the unit's public check page, for the applicant and the
unit's staff only; the check page itself."""

import io

import pypdf
import pytest
from django.db import connection

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from tenant_apps.cases import actions, documents
from tenant_apps.cases.models import Case
from tenant_apps.cases.tests.conftest import submitted_case
from tests.helpers import host_of


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Text without the line breaks the PDF's layout put in."""
    return "".join(text.split())


def accepted(people, service, tenant) -> Case:
    case = submitted_case(service, tenant, people.citizen)
    connection.set_tenant(tenant)
    return actions.accept(case, actor=people.clerk)


def decided(people, service, tenant, decision="approved") -> Case:
    case = accepted(people, service, tenant)
    connection.set_tenant(tenant)
    case = actions.start_review(case, actor=people.reviewer)
    connection.set_tenant(tenant)
    return actions.decide(
        case,
        actor=people.approver,
        decision=decision,
        reasons="经营场所不符合卫生要求" if decision == "refused" else "",
        legal_basis="《食品安全法》第三十五条",
    )


def get(client, tenant, path, **extra):
    return client.get(path, HTTP_HOST=host_of(tenant), **extra)


def document_path(case, kind):
    return f"/cases/{case.public_id}/documents/{kind}.pdf"


def test_documents_appear_as_the_case_moves_on(people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    assert documents.documents_for(case) == []
    connection.set_tenant(tenant)
    case = actions.accept(case, actor=people.clerk)
    assert [(d["kind"], d["url"]) for d in documents.documents_for(case)] == [
        ("acceptance-notice", document_path(case, "acceptance-notice"))
    ]
    connection.set_tenant(tenant)
    case = actions.start_review(case, actor=people.reviewer)
    connection.set_tenant(tenant)
    case = actions.decide(case, actor=people.approver, decision="approved", legal_basis="某法")
    assert [d["kind"] for d in documents.documents_for(case)] == ["acceptance-notice", "decision"]
    assert all(d["title"] for d in documents.documents_for(case))


def test_the_acceptance_notice_carries_the_number_and_the_check_address(
    client, people, service, tenant
):
    case = accepted(people, service, tenant)
    client.force_login(people.citizen)
    response = get(client, tenant, document_path(case, "acceptance-notice"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    code = documents.check_code(case, "acceptance-notice")
    check_address = f"http://{host_of(tenant)}/verify/{case.number}?c={code}"
    assert case.number in text
    assert check_address in flat(text)
    for words in ("受理通知书", "食品经营许可", "王701", tenant.name, "承诺办理时限", "10个工作日"):
        assert words in flat(text), words
    # Made on request, the same bytes every time.
    again = get(client, tenant, document_path(case, "acceptance-notice"))
    assert again.content == response.content
    # No decision yet: no decision document.
    assert get(client, tenant, document_path(case, "decision")).status_code == 404
    # The applicant reading their own document is not an audited act.
    assert not AuditEntry.objects.filter(action="cases.document_downloaded").exists()


@pytest.mark.parametrize("decision", ["approved", "refused"])
def test_the_decision_gives_reasons_basis_and_the_right_to_appeal(
    client, people, service, tenant, decision
):
    case = decided(people, service, tenant, decision)
    client.force_login(people.citizen)
    response = get(client, tenant, document_path(case, "decision"))
    assert response.status_code == 200
    text = flat(pdf_text(response.content))
    code = documents.check_code(case, "decision")
    assert code != documents.check_code(case, "acceptance-notice")
    assert f"/verify/{case.number}?c={code}" in text and case.number in text
    title = "准予许可决定书" if decision == "approved" else "不予许可决定书"
    assert title in text and "《食品安全法》第三十五条" in text
    assert "60日内" in text and "行政复议" in text and "6个月内" in text and "行政诉讼" in text
    if decision == "refused":
        assert "经营场所不符合卫生要求" in text


def test_unit_staff_read_the_documents_and_each_download_is_audited(
    client, people, service, tenant
):
    case = decided(people, service, tenant)
    # Without the second factor a staff member has no right yet.
    client.force_login(people.clerk)
    assert get(client, tenant, document_path(case, "decision")).status_code == 404
    sign_in_with_second_factor(client, people.clerk)
    before = AuditEntry.objects.count()
    response = get(client, tenant, document_path(case, "decision"))
    assert response.status_code == 200 and case.number in pdf_text(response.content)
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert (entry.action, entry.target, entry.actor_user_id, entry.tenant_code) == (
        "cases.document_downloaded",
        case.number,
        people.clerk.pk,
        tenant.code,
    )
    assert entry.data == {"document": "decision"}


def test_nobody_else_reads_them_whatever_host_or_id(client, people, service, tenant, other_tenant):
    case = decided(people, service, tenant)
    path = document_path(case, "decision")
    # Signed out: to the sign-in page (which says nothing about the case).
    assert get(client, tenant, path).status_code == 302
    client.force_login(people.other_citizen)
    assert get(client, tenant, path).status_code == 404
    # A clerk of another unit, with the second factor: not found here, nor on their own host.
    foreign = people.staff("foreign-clerk", Role.WINDOW_CLERK, tenant=other_tenant)
    sign_in_with_second_factor(client, foreign)
    assert get(client, tenant, path).status_code == 404
    assert get(client, other_tenant, path).status_code == 404
    # The applicant on another unit's host: the case is not there.
    client.force_login(people.citizen)
    assert get(client, other_tenant, path).status_code == 404
    assert get(client, tenant, path).status_code == 200
    # No such document kind, no such case.
    assert get(client, tenant, f"/cases/{case.public_id}/documents/other.pdf").status_code == 404
    missing = "/cases/00000000-0000-0000-0000-000000000000/documents/decision.pdf"
    assert get(client, tenant, missing).status_code == 404
    assert not AuditEntry.objects.filter(action="cases.document_downloaded").exists()


def test_the_check_page_shows_only_what_it_must(client, people, service, tenant, other_tenant):
    case = decided(people, service, tenant, "refused")
    code = documents.check_code(case, "decision")
    page = get(client, tenant, f"/verify/{case.number}?c={code}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="verified"' in html
    for words in ("不予许可决定书", "食品经营许可", tenant.name, case.number, "王**1"):
        assert words in html, words
    # Not the applicant's full name, nor the reasons.
    assert "王701" not in html and "经营场所不符合卫生要求" not in html
    notice = get(
        client,
        tenant,
        f"/verify/{case.number}?c=" + documents.check_code(case, "acceptance-notice"),
    )
    assert notice.status_code == 200 and "受理通知书" in notice.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "c=0000000000000000",
        "c=",
        "",
        "c=" + "a" * 5000,
        "c=ABCDEF0123456789",
        "c[]=1",
    ],
)
def test_a_wrong_check_code_says_so(client, people, service, tenant, query):
    case = accepted(people, service, tenant)
    page = get(client, tenant, f"/verify/{case.number}?{query}")
    assert page.status_code == 404
    html = page.content.decode()
    assert 'id="not-verified"' in html and "核验码" in html
    assert "食品经营许可" not in html


def test_a_nul_in_the_check_address_is_refused_before_the_page(client, people, service, tenant):
    case = accepted(people, service, tenant)
    page = get(client, tenant, f"/verify/{case.number}?c=%00abc")
    assert page.status_code == 400 and "食品经营许可" not in page.content.decode()


def test_a_code_checks_only_its_own_document_and_unit(
    client, people, service, tenant, other_tenant
):
    case = accepted(people, service, tenant)
    # The decision's code, before there is a decision; the notice's code on another unit's site.
    decision_code = documents.check_code(case, "decision")
    assert get(client, tenant, f"/verify/{case.number}?c={decision_code}").status_code == 404
    code = documents.check_code(case, "acceptance-notice")
    assert get(client, other_tenant, f"/verify/{case.number}?c={code}").status_code == 404
    assert get(client, tenant, f"/verify/{case.number}x?c={code}").status_code == 404
    assert get(client, tenant, f"/verify/{'9' * 300}?c={code}").status_code == 404
    assert get(client, tenant, f"/verify/{case.number}?c={code}").status_code == 200


def test_the_check_page_is_rate_limited(client, people, service, tenant, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "verify": ("3/m", "GET", ["case-verify"])}
    case = accepted(people, service, tenant)
    statuses = [
        get(client, tenant, f"/verify/{case.number}?c={n:016x}").status_code for n in range(5)
    ]
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]
