"""The ways a message leaves the platform, behind one interface: `send` returns the provider's id
of what it sent, or raises ChannelError (`permanent` when trying again can't help: an address
refused, a channel not configured).

E-mail goes through Django's mail backend (SMTP in production, EMAIL_URL or EMAIL_HOST); SMS
through an HTTP gateway (SMS_GATEWAY_URL): a JSON POST signed with HMAC-SHA256 under
SMS_GATEWAY_KEY, answered with the gateway's id for the message. In development, without those
settings, e-mail is written to PLATFORM_DATA_DIR/mail and SMS to the log, each with a log line
saying so; in production an unconfigured channel fails its deliveries with a message saying what
to set, never silently."""

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

logger = logging.getLogger(__name__)

GATEWAY_TIMEOUT_S = 10


class ChannelError(Exception):
    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


class Channel:
    name = ""

    def send(self, *, address: str, subject: str, text: str, reference: str) -> str:
        raise NotImplementedError


class EmailChannel(Channel):
    name = "email"

    def send(self, *, address, subject, text, reference):
        if not settings.EMAIL_CONFIGURED and not settings.DEVELOPMENT:
            raise ChannelError(
                "邮件服务未配置（设置 EMAIL_URL 或 EMAIL_HOST）：邮件未发出。", permanent=True
            )
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or settings.BASE_DOMAIN
        message_id = make_msgid(idstring=reference, domain=domain)
        email = EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={"Message-ID": message_id},
            connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        )
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as error:
            raise ChannelError(f"收件地址被拒绝：{error}", permanent=True) from error
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelError(f"邮件服务器不可用：{type(error).__name__}: {error}") from error
        if not settings.EMAIL_CONFIGURED:
            logger.warning(
                "E-mail to %s not sent (no EMAIL_URL or EMAIL_HOST): written to %s",
                address,
                settings.EMAIL_FILE_PATH,
            )
        return message_id


def sign_request(key: str, timestamp: str, body: bytes) -> str:
    """The gateway's signature of a request: HMAC-SHA256 over the timestamp, a newline and the
    body, so a captured request can't be replayed later or altered."""
    return hmac.new(key.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SmsChannel(Channel):
    name = "sms"

    def send(self, *, address, subject, text, reference):
        if not settings.SMS_GATEWAY_URL:
            if settings.DEVELOPMENT:
                # Kept in a file beside the e-mails (var/sms.log), as a phone would show it: the
                # demo's hundreds of case steps would otherwise flood the console.
                line = (
                    f"{timezone.now().isoformat()} {address} 【{settings.SMS_SIGN_NAME}】{text}\n"
                )
                settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
                with open(settings.DATA_DIR / "sms.log", "a", encoding="utf-8") as kept:
                    kept.write(line)
                logger.info("SMS to %s not sent (no SMS_GATEWAY_URL), kept in sms.log", address)
                return f"log-{reference}"
            raise ChannelError(
                "短信网关未配置（设置 SMS_GATEWAY_URL 和 SMS_GATEWAY_KEY）：短信未发出。",
                permanent=True,
            )
        body = json.dumps(
            {
                "phone": address,
                "sign_name": settings.SMS_SIGN_NAME,
                "text": text,
                "reference": reference,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            settings.SMS_GATEWAY_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Timestamp": timestamp,
                "X-Signature": sign_request(settings.SMS_GATEWAY_KEY, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=GATEWAY_TIMEOUT_S) as response:
                answer = json.loads(response.read(64 * 1024) or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode("utf-8", "replace")
            # A request the gateway refuses (bad number, bad signature) fails the same next time;
            # its overload (429) and its own errors (5xx) pass.
            permanent = 400 <= error.code < 500 and error.code != 429
            raise ChannelError(
                f"短信网关答复 {error.code}：{detail}", permanent=permanent
            ) from error
        except (TimeoutError, urllib.error.URLError, OSError, ValueError) as error:
            raise ChannelError(f"短信网关不可用：{type(error).__name__}: {error}") from error
        provider_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(provider_id, str) or not provider_id:
            raise ChannelError(f"短信网关的答复没有消息编号：{str(answer)[:200]}")
        return provider_id[:200]


CHANNELS: dict[str, Channel] = {channel.name: channel for channel in (EmailChannel(), SmsChannel())}
