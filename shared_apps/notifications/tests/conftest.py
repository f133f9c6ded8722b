"""A real SMTP server (aiosmtpd, writing what it receives to a Maildir) and the fake SMS gateway
(tests/fakes/sms_gateway.py), each a process of its own on a free port."""

import json
import mailbox
import subprocess
import sys
import time
import urllib.request
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, wait_until_listening

GATEWAY_KEY = "test-gateway-key-0123456789abcdef"


def _start(argv, port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return wait_until_listening(
        process, port, 20, lambda: f"{argv[2]} did not start: {log.read_text()}"
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SmtpServer:
    def __init__(self, port: int, maildir: Path):
        self.port, self.maildir = port, maildir
        self.url = f"smtp://127.0.0.1:{port}"

    def received(self) -> list[dict]:
        if not self.maildir.exists():
            return []
        found = []
        for message in mailbox.Maildir(self.maildir, create=False):
            body = message.get_payload(decode=True).decode(message.get_content_charset())
            found.append(
                {
                    "to": message["To"],
                    "from": message["From"],
                    "subject": str(make_header(decode_header(message["Subject"]))),
                    "message_id": message["Message-ID"],
                    "body": body,
                }
            )
        return found

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(found := self.received()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} e-mails expected, got {len(found)}")
            time.sleep(0.1)
        return found


class SmsGateway:
    def __init__(self, port: int, outbox: Path):
        self.port, self.outbox = port, outbox
        self.url = f"http://127.0.0.1:{port}/send"
        self.key = GATEWAY_KEY

    def fail_next(self, count: int) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/control",
            data=json.dumps({"fail": count}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).read()

    def received(self) -> list[dict]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text("utf-8").splitlines()]

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(found := self.received()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} SMS expected, got {found}")
            time.sleep(0.1)
        return found


@pytest.fixture
def smtp_server(tmp_path):
    port = free_port()
    maildir = tmp_path / "maildir"
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
            "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]  # fmt: skip
    process = _start(argv, port, tmp_path / "smtp.log")
    yield SmtpServer(port, maildir)
    _stop(process)


@pytest.fixture
def sms_gateway(tmp_path):
    port = free_port()
    outbox = tmp_path / "sms.jsonl"
    argv = [sys.executable, str(ROOT / "tests" / "fakes" / "sms_gateway.py"), str(port),
            GATEWAY_KEY, str(outbox)]  # fmt: skip
    process = _start(argv, port, tmp_path / "sms-gateway.log")
    yield SmsGateway(port, outbox)
    _stop(process)


@pytest.fixture
def channels(settings, smtp_server, sms_gateway):
    """This process's e-mail and SMS settings pointed at the two servers."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_CONFIGURED = True
    settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_KEY = sms_gateway.url, sms_gateway.key
    return smtp_server, sms_gateway
