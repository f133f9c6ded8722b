"""The receipt of a paid order and its public check page."""

import io

import pytest
from django.conf import settings
from django.db import connection

from shared_apps.payments import receipts
from shared_apps.payments.models import PaymentOrder
from shared_apps.payments.tests.conftest import accepted_case, signed_result

PORTAL = {"HTTP_HOST": settings.BASE_DOMAIN}


@pytest.fixture
def paid(client, people, tenant, fee_service, gateway_settings):
    case = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    order = PaymentOrder.objects.get(case_public_id=case.public_id)
    client.post("/pay/notify", signed_result(order), **PORTAL)
    order.refresh_from_db()
    return order


def test_the_payer_downloads_the_receipt_and_its_code_checks(client, paid, people):
    from pypdf import PdfReader

    client.force_login(people.citizen)
    response = client.get(f"/pay/{paid.slip_number}/receipt.pdf", **PORTAL)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert client.get(f"/pay/{paid.slip_number}/receipt.pdf", **PORTAL).content == response.content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in (paid.slip_number, "70.00", "证照工本费", "王**1", "T0001"):
        assert expected in text.replace(" ", ""), expected
    assert people.citizen.real_name not in text
    check = client.get(f"/pay/{paid.slip_number}/check", {"c": receipts.check_code(paid)}, **PORTAL)
    assert check.status_code == 200 and 'id="genuine"' in check.content.decode()


def test_a_wrong_code_or_an_unpaid_order_does_not_check(client, paid, people, tenant, fee_service):
    wrong = client.get(f"/pay/{paid.slip_number}/check", {"c": "0" * 16}, **PORTAL)
    assert wrong.status_code == 404 and 'id="not-genuine"' in wrong.content.decode()
    other = accepted_case(fee_service, tenant, people.citizen, people.clerk)
    connection.set_schema_to_public()
    unpaid = PaymentOrder.objects.get(case_public_id=other.public_id)
    code = receipts.check_code(unpaid)
    assert client.get(f"/pay/{unpaid.slip_number}/check", {"c": code}, **PORTAL).status_code == 404


def test_only_the_payer_gets_the_receipt(client, paid, people):
    anonymous = client.get(f"/pay/{paid.slip_number}/receipt.pdf", **PORTAL)
    assert anonymous.status_code == 302 and "sign-in" in anonymous["Location"]
    client.force_login(people.other_citizen)
    assert client.get(f"/pay/{paid.slip_number}/receipt.pdf", **PORTAL).status_code == 404
