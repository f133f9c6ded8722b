"""Payment providers behind one interface: the platform sends the payer's browser to the provider
with a signed request, and learns the result from the provider's signed messages — the
server-to-server notification (retried by the provider until answered) and the signed return of
the browser. Either may come first, twice, or late: actions.receive_result pays an order once.

`GatewayProvider` speaks the protocol of the provincial payment gateway (统一支付网关), in the
shape most Chinese bank and payment-platform gateways use: form parameters, sorted `key=value`
pairs joined by `&`, HMAC-SHA256 under the merchant's key in `sign`. tests/fakes/payment_gateway.py
is a local process speaking it.
"""

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings

from shared_apps.catalog.fees import MONEY

_MONEY = re.compile(MONEY)
_SLIP = re.compile(r"[0-9A-Za-z]{1,50}", re.ASCII)
_REFERENCE = re.compile(r"[0-9A-Za-z_-]{1,64}", re.ASCII)


class ProviderError(Exception):
    """The provider could not be reached, refused, or answered unsigned."""


class BadSignature(Exception):
    """The message is not signed by the provider (or not well formed): nothing in it is believed."""


@dataclass(frozen=True)
class PaymentResult:
    slip_number: str
    reference: str  # the provider's transaction number
    amount: Decimal


def sign(params: dict, key: str) -> str:
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


class GatewayProvider:
    name = "gateway"

    def __init__(self, url: str, merchant_id: str, key: str):
        self.url, self.merchant_id, self.key = url.rstrip("/"), merchant_id, key

    def payment_url(self, order, *, return_url: str, notify_url: str) -> str:
        params = {
            "merchant_id": self.merchant_id,
            "out_trade_no": order.slip_number,
            "total_amount": f"{order.total:.2f}",
            "subject": order.item_name[:60],
            "notify_url": notify_url,
            "return_url": return_url,
            "timestamp": str(int(time.time())),
        }
        params["sign"] = sign(params, self.key)
        return f"{self.url}/gateway/pay?{urlencode(params)}"

    def parse_result(self, params) -> PaymentResult:
        """The payment a signed notification or return reports. Freshness is not checked: the
        gateway retries the same signed notification for hours, and a replay only repeats a
        result already recorded."""
        given = {k: str(params.get(k, "")) for k in params}
        signature = given.get("sign", "")
        if not signature or not hmac.compare_digest(sign(given, self.key), signature):
            raise BadSignature("signature")
        slip, reference = given.get("out_trade_no", ""), given.get("trade_no", "")
        amount = given.get("total_amount", "")
        if (
            given.get("merchant_id") != self.merchant_id
            or given.get("trade_status") != "SUCCESS"
            or not _SLIP.fullmatch(slip)
            or not _REFERENCE.fullmatch(reference)
            or not _MONEY.fullmatch(amount)
        ):
            raise BadSignature("content")
        try:
            return PaymentResult(slip, reference, Decimal(amount))
        except InvalidOperation:
            raise BadSignature("amount") from None

    def refund(self, *, slip_number: str, reference: str, refund_no: str, amount) -> str:
        """Ask the gateway to refund `amount` of the payment `reference`; its refund number.
        The same `refund_no` asked again is answered with the same refund (idempotent)."""
        params = {
            "merchant_id": self.merchant_id,
            "out_trade_no": slip_number,
            "trade_no": reference,
            "out_refund_no": refund_no,
            "refund_amount": f"{amount:.2f}",
            "timestamp": str(int(time.time())),
        }
        params["sign"] = sign(params, self.key)
        answer = self._post("/gateway/refund", params)
        if answer.get("status") != "SUCCESS" or not _REFERENCE.fullmatch(
            answer.get("refund_no", "")
        ):
            raise ProviderError(answer.get("error") or "refund refused")
        return answer["refund_no"]

    def statement(self, day) -> str:
        """The gateway's statement of `day` (对账单), as its CSV text (reconciliation.py)."""
        params = {
            "merchant_id": self.merchant_id,
            "date": f"{day:%Y-%m-%d}",
            "timestamp": str(int(time.time())),
        }
        params["sign"] = sign(params, self.key)
        request = urllib.request.Request(f"{self.url}/gateway/statement?{urlencode(params)}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
                signature = response.headers.get("X-Signature", "")
        except OSError as error:
            raise ProviderError(str(error)) from None
        expected = hmac.new(self.key.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ProviderError("the statement is not signed by the gateway")
        return body.decode("utf-8")

    def _post(self, path: str, params: dict) -> dict:
        request = urllib.request.Request(
            self.url + path,
            data=urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read())
            except ValueError:
                raise ProviderError(f"gateway answered {error.code}") from None
        except (OSError, ValueError) as error:
            raise ProviderError(str(error)) from None
        given = {k: str(v) for k, v in answer.items()}
        if not hmac.compare_digest(sign(given, self.key), given.get("sign", "")):
            raise ProviderError("the answer is not signed by the gateway")
        return given

    @staticmethod
    def answer(accepted: bool) -> str:
        """The body the gateway expects: `success` stops its retries."""
        return "success" if accepted else "fail"


def provider() -> GatewayProvider | None:
    """The configured provider, or None where no gateway is configured (paying is then
    unavailable and the pages say so)."""
    if not settings.PAYMENT_GATEWAY_URL:
        return None
    return GatewayProvider(
        settings.PAYMENT_GATEWAY_URL, settings.PAYMENT_MERCHANT_ID, settings.PAYMENT_GATEWAY_KEY
    )
