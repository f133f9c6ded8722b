"""A department system's webhook endpoint for the tests, as a process of its own: every POST is
appended (headers `X-Timestamp`, `X-Signature`, `X-Delivery` and the body) as a JSON line to the
inbox file and answered 204; `POST /control {"fail": n}` makes the next n answer 503.

    python tests/fakes/webhook_receiver.py PORT INBOX
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(BaseHTTPRequestHandler):
    inbox = ""
    failures_left = 0
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            if self.path == "/control":
                Receiver.failures_left = int(json.loads(body)["fail"])
                status = 200
            elif Receiver.failures_left > 0:
                Receiver.failures_left -= 1
                status = 503
            else:
                entry = {
                    name: self.headers.get(name, "")
                    for name in ("X-Timestamp", "X-Signature", "X-Delivery")
                }
                entry["body"] = body.decode("utf-8")
                with open(self.inbox, "a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                status = 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        sys.stderr.write("webhook-receiver: " + format % args + "\n")


def main(port: str, inbox: str) -> None:
    Receiver.inbox = inbox
    ThreadingHTTPServer(("127.0.0.1", int(port)), Receiver).serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
