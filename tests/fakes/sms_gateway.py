"""A fake SMS gateway for the tests, as a process of its own speaking the real gateway's
protocol: `POST /send` with a JSON body, `X-Timestamp` and `X-Signature` (HMAC-SHA256 under the
shared key over the timestamp, a newline and the body). A signed request within 5 minutes is
accepted with `{"id": …}` and appended as a JSON line to the outbox file; a bad signature gets
401. `POST /control {"fail": n}` makes the next n sends answer 503.

    python tests/fakes/sms_gateway.py PORT KEY OUTBOX
"""

import hashlib
import hmac
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway(BaseHTTPRequestHandler):
    key = b""
    outbox = ""
    failures_left = 0
    lock = threading.Lock()

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/control":
            with self.lock:
                Gateway.failures_left = int(json.loads(body)["fail"])
            return self.answer(200, {"fail": Gateway.failures_left})
        if self.path != "/send":
            return self.answer(404, {"error": "no such endpoint"})
        timestamp = self.headers.get("X-Timestamp", "")
        expected = hmac.new(self.key, timestamp.encode() + b"\n" + body, hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), self.headers.get("X-Signature", "")):
            return self.answer(401, {"error": "bad signature"})
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return self.answer(401, {"error": "stale request"})
        with self.lock:
            if Gateway.failures_left > 0:
                Gateway.failures_left -= 1
                return self.answer(503, {"error": "gateway busy (told to fail)"})
            message = json.loads(body)
            message["id"] = uuid.uuid4().hex
            with open(self.outbox, "a", encoding="utf-8") as out:
                out.write(json.dumps(message, ensure_ascii=False) + "\n")
        return self.answer(200, {"id": message["id"]})

    def log_message(self, format, *args):
        sys.stderr.write("sms-gateway: " + format % args + "\n")


def main(port: str, key: str, outbox: str) -> None:
    Gateway.key, Gateway.outbox = key.encode(), outbox
    ThreadingHTTPServer(("127.0.0.1", int(port)), Gateway).serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
