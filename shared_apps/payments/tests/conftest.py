"""A service whose guide charges fees, cases of it, and the provider's signed messages."""

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import GuideMaterial, OnlineDepth
from shared_apps.catalog.tests.conftest import make_department
from shared_apps.payments.providers import GatewayProvider, sign
from tenant_apps.cases import actions as cases
from tenant_apps.cases.tests import conftest as case_fixtures
from tenant_apps.cases.tests.conftest import REQUIRED, uploads
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[3]
# The case tests' fixtures (a provincial administrator, the unit's people), shared here.
root, people = case_fixtures.root, case_fixtures.people

MERCHANT, KEY = "henan-gov-test", "payments-test-key-0123456789abcdef"
GATEWAY = "http://gateway.test"
FORM = {
    "type": "object",
    "required": ["copies", "category"],
    "properties": {
        "copies": {"type": "integer", "minimum": 0, "maximum": 10},
        "category": {"type": "string", "enum": ["个人", "企业"]},
        "low_income": {"type": "boolean"},
    },
    "additionalProperties": False,
}
# 10 yuan a copy (低保户 waived) and 50 or 120 by category: 2 copies as a person = 70.00.
FEES = [
    {
        "name": "证照工本费",
        "revenue_code": "103040101",
        "rule": {"per": "copies", "unit": "10.00", "max_units": 10},
        "legal_basis": "豫价费〔2010〕1号",
        "waivers": [{"field": "low_income", "equals": True, "reason": "低保户免收"}],
        "stage": "acceptance",
        "case_waits": True,
    },
    {
        "name": "审查费",
        "rule": {"by": "category", "amounts": {"个人": "50.00", "企业": "120.00"}},
        "legal_basis": "豫财综〔2017〕21号",
        "stage": "acceptance",
    },
]
FORM_DATA = {"copies": 2, "category": "个人"}


def publish_fee_service(admin, tenant, fee_items=FEES):
    code = f"4101{secrets.randbelow(10**5):05d}000"
    item = catalog.save_basic_item(
        actor=admin, code=code, name="机动车驾驶证补领", exercising_levels=[4]
    )
    version = catalog.draft_version(
        item,
        actor=admin,
        legal_basis="《道路交通安全法》第十九条",
        conditions="驾驶证遗失",
        process="申请、受理、审查、决定",
        statutory_days=20,
        max_online_depth=OnlineDepth.E_LICENSE,
        materials=[
            {"name": "申请书"},
            {"name": "营业执照", "source": GuideMaterial.Source.GOVERNMENT},
        ],
        fee_items=fee_items,
    )
    catalog.publish_version(version, actor=admin)
    implementation = catalog.implement_item(
        actor=admin,
        tenant=tenant,
        department=make_department(tenant),
        item=item,
        promised_days=10,
        place="政务服务中心",
        hours="工作日",
        enquiry_phone="0371-12345",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        form_schema=FORM,
    )
    connection.set_schema_to_public()
    return catalog.publish_implementation(implementation, actor=admin, tenant=tenant)


def accepted_case(service, tenant, citizen, clerk, form_data=FORM_DATA):
    connection.set_tenant(tenant)
    draft = cases.save_draft(actor=citizen, implementation=service, form_data=form_data)
    submitted = cases.submit(
        draft, actor=citizen, materials=uploads(service, *REQUIRED, case=draft)
    )
    return cases.accept(submitted, actor=clerk)


@pytest.fixture
def fee_service(root, tenant):  # noqa: F811
    return publish_fee_service(root, tenant)


@pytest.fixture
def gateway_settings(settings):
    settings.PAYMENT_GATEWAY_URL, settings.PAYMENT_MERCHANT_ID = GATEWAY, MERCHANT
    settings.PAYMENT_GATEWAY_KEY = KEY
    return GatewayProvider(GATEWAY, MERCHANT, KEY)


def signed_result(order, *, reference="T0001", amount=None, key=KEY, **extra) -> dict:
    """The parameters of the gateway's notification (and return) for a payment of `order`."""
    params = {
        "merchant_id": MERCHANT,
        "out_trade_no": order.slip_number,
        "trade_no": reference,
        "total_amount": amount if amount is not None else f"{order.total:.2f}",
        "trade_status": "SUCCESS",
        "paid_at": "2026-11-29 10:00:00",
        "timestamp": "1795000000",
        **extra,
    }
    params["sign"] = sign(params, key)
    return params


class FakeGateway:
    """tests/fakes/payment_gateway.py as a process of its own on a free port."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.provider = GatewayProvider(self.url, MERCHANT, KEY)

    def control(self, **order) -> None:
        request = urllib.request.Request(
            self.url + "/control", data=json.dumps(order).encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=5).read()

    def pay(self, order) -> str:
        """Pay `order` as the payer's browser does (the signed request, then 确认支付), with the
        gateway told to send nothing back: the payment is in its statement only. Its number."""
        url = self.provider.payment_url(
            order,
            return_url="http://gov.localhost:9/none",
            notify_url="http://gov.localhost:9/none",
        )
        params = dict(parse_qsl(urlsplit(url).query))
        request = urllib.request.Request(
            self.url + "/gateway/pay", data=urlencode(params).encode(), method="POST"
        )
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(request, timeout=5)
        except urllib.error.HTTPError as error:
            assert error.code == 303
        statement = self.provider.statement(timezone.localdate())
        return [line.split(",")[0] for line in statement.splitlines() if order.slip_number in line][
            -1
        ]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def fake_gateway(tmp_path):
    port = free_port()
    argv = [sys.executable, str(ROOT / "tests" / "fakes" / "payment_gateway.py"), str(port),
            MERCHANT, KEY]  # fmt: skip
    log = open(tmp_path / "gateway.log", "w")
    process = subprocess.Popen(argv, stderr=log)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError("the fake payment gateway did not start") from None
            time.sleep(0.1)
    yield FakeGateway(port)
    process.terminate()
    process.wait(timeout=10)
    log.close()
