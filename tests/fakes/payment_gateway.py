"""A fake payment gateway (统一支付网关) for the tests, as a process of its own speaking the
protocol of shared_apps/payments/providers.py: form parameters signed with HMAC-SHA256 under the
merchant's key over the sorted `key=value` pairs joined by `&` (the `sign` parameter).

- `GET /gateway/pay?…&sign=…` (the payer's browser, sent by the platform): a checked request
  shows the cashier page; `POST /gateway/pay` (its button) pays: a transaction number is drawn,
  the signed notification is POSTed to `notify_url` from a thread (retried after 1, 2, 4, 8 and
  16 s until it answers `success`), and the browser is sent to `return_url` with the signed
  result.
- `POST /gateway/refund` (signed form: out_trade_no, trade_no, out_refund_no, refund_amount):
  refunds at most what is left of the payment, once per out_refund_no; answered with signed JSON.
- `GET /gateway/statement?merchant_id=…&date=YYYY-MM-DD&timestamp=…&sign=…`: the day's statement
  (对账单), CSV `trade_no,out_trade_no,type,amount,finished_at` (type PAY or REFUND), its body
  signed in the `X-Signature` header (HMAC-SHA256 of the body).
- `POST /control` JSON: `{"notify": "normal" | "before_redirect" | "twice" | "none"}` sets how the
  next payments notify ("none": neither notification nor signed return); `{"trade": {...}}` adds a
  line to the statement as if paid elsewhere; `GET /notifications` lists every notification
  attempt and its answer.

Hosts under `.localhost` are reached on 127.0.0.1 with the Host header kept (Python does not
resolve them, browsers do).

    python tests/fakes/payment_gateway.py PORT MERCHANT_ID KEY
"""

import hashlib
import hmac
import html
import http.client
import json
import sys
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

RETRY_DELAYS = (1, 2, 4, 8, 16)


def sign(params: dict, key: str) -> str:
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def post_form(url: str, params: dict) -> tuple[int, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    connect_to = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    connection = http.client.HTTPConnection(connect_to, parts.port or 80, timeout=10)
    try:
        connection.request(
            "POST",
            parts.path + (f"?{parts.query}" if parts.query else ""),
            body=urlencode(params),
            headers={
                "Host": parts.netloc,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            },
        )
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


class Gateway(BaseHTTPRequestHandler):
    merchant_id = ""
    key = ""
    mode = "normal"
    attempts: list = []
    trades: dict = {}  # trade_no → {out_trade_no, type, amount, finished_at}
    refunds: dict = {}  # out_refund_no → refund trade_no
    lock = threading.Lock()

    def signed_json(self, status: int, body: dict) -> None:
        body = {**body, "sign": sign({k: str(v) for k, v in body.items()}, self.key)}
        self.answer(status, json.dumps(body), "application/json")

    def answer(self, status: int, body: str, content_type="text/html; charset=utf-8", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def checked(self, params: dict) -> bool:
        return params.get("merchant_id") == self.merchant_id and hmac.compare_digest(
            sign(params, self.key), params.get("sign", "")
        )

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/notifications":
            with self.lock:
                body = json.dumps(Gateway.attempts)
            return self.answer(200, body, "application/json")
        params = dict(parse_qsl(parts.query))
        if parts.path == "/gateway/statement":
            if not self.checked(params):
                return self.answer(400, "bad signature", "text/plain")
            with self.lock:
                lines = [
                    f"{no},{t['out_trade_no']},{t['type']},{t['amount']},{t['finished_at']}"
                    for no, t in Gateway.trades.items()
                    if t["finished_at"].startswith(params.get("date", "-"))
                ]
            body = "\n".join(["trade_no,out_trade_no,type,amount,finished_at", *lines]) + "\n"
            digest = hmac.new(self.key.encode(), body.encode(), hashlib.sha256).hexdigest()
            return self.answer(200, body, "text/csv; charset=utf-8", [("X-Signature", digest)])
        if parts.path != "/gateway/pay":
            return self.answer(404, "no such page")
        if not self.checked(params):
            return self.answer(400, "<p id='refused'>签名错误 (bad signature)</p>")
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        page = (
            "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<title>统一支付网关（测试）</title></head><body><h1>统一支付网关（测试）</h1>"
            f"<p>商户订单号 <span id='trade'>{html.escape(params['out_trade_no'])}</span></p>"
            f"<p>金额 <span id='amount'>{html.escape(params['total_amount'])}</span> 元</p>"
            f"<form method='post' action='/gateway/pay'>{fields}"
            "<button type='submit' id='confirm'>确认支付</button></form></body></html>"
        )
        return self.answer(200, page)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/control":
            order = json.loads(body)
            with self.lock:
                Gateway.mode = order.get("notify", Gateway.mode)
                if "trade" in order:
                    trade = order["trade"]
                    Gateway.trades[trade.pop("trade_no")] = trade
            return self.answer(200, json.dumps({"notify": Gateway.mode}), "application/json")
        if self.path == "/gateway/refund":
            return self.refund(dict(parse_qsl(body.decode())))
        if self.path != "/gateway/pay":
            return self.answer(404, "no such endpoint")
        params = dict(parse_qsl(body.decode()))
        if not self.checked(params):
            return self.answer(400, "<p id='refused'>签名错误 (bad signature)</p>")
        result = {
            "merchant_id": self.merchant_id,
            "out_trade_no": params["out_trade_no"],
            "trade_no": "T" + uuid.uuid4().hex[:20].upper(),
            "total_amount": params["total_amount"],
            "trade_status": "SUCCESS",
            "paid_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "timestamp": str(int(time.time())),
        }
        result["sign"] = sign(result, self.key)
        with self.lock:
            Gateway.trades[result["trade_no"]] = {
                "out_trade_no": result["out_trade_no"],
                "type": "PAY",
                "amount": result["total_amount"],
                "finished_at": result["paid_at"],
            }
        mode = Gateway.mode
        if mode == "none":
            return self.answer(303, "", headers=[("Location", params["return_url"])])
        if mode == "before_redirect":
            self.deliver(params["notify_url"], result)
        elif mode in ("normal", "twice"):
            for _ in range(2 if mode == "twice" else 1):
                threading.Thread(
                    target=self.deliver, args=(params["notify_url"], result), daemon=True
                ).start()
        location = params["return_url"] + "?" + urlencode(result)
        return self.answer(303, "", headers=[("Location", location)])

    def refund(self, params: dict) -> None:
        if not self.checked(params):
            return self.signed_json(400, {"status": "FAIL", "error": "bad signature"})
        with self.lock:
            if params["out_refund_no"] in Gateway.refunds:
                number = Gateway.refunds[params["out_refund_no"]]
                return self.signed_json(200, {"status": "SUCCESS", "refund_no": number})
            trade = Gateway.trades.get(params["trade_no"])
            if trade is None or trade["out_trade_no"] != params["out_trade_no"]:
                return self.signed_json(404, {"status": "FAIL", "error": "no such trade"})
            refunded = sum(
                Decimal(t["amount"])
                for t in Gateway.trades.values()
                if t.get("refunds") == params["trade_no"]
            )
            if Decimal(params["refund_amount"]) > Decimal(trade["amount"]) - refunded:
                return self.signed_json(409, {"status": "FAIL", "error": "more than was paid"})
            number = "R" + uuid.uuid4().hex[:20].upper()
            Gateway.refunds[params["out_refund_no"]] = number
            Gateway.trades[number] = {
                "out_trade_no": params["out_trade_no"],
                "type": "REFUND",
                "amount": params["refund_amount"],
                "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                "refunds": params["trade_no"],
            }
        return self.signed_json(200, {"status": "SUCCESS", "refund_no": number})

    def deliver(self, url: str, result: dict) -> None:
        for delay in (0, *RETRY_DELAYS):
            time.sleep(delay)
            try:
                status, text = post_form(url, result)
            except OSError as error:
                status, text = 0, str(error)
            with self.lock:
                Gateway.attempts.append(
                    {"out_trade_no": result["out_trade_no"], "status": status, "body": text[:200]}
                )
            if text.strip() == "success":
                return

    def log_message(self, format, *args):
        sys.stderr.write("payment-gateway: " + format % args + "\n")


def main(port: str, merchant_id: str, key: str) -> None:
    Gateway.merchant_id, Gateway.key = merchant_id, key
    ThreadingHTTPServer(("127.0.0.1", int(port)), Gateway).serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
