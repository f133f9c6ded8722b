"""The kinds of message and their texts: a title (inbox, e-mail subject), a body (inbox, e-mail)
and a short SMS, each a template filled from the message's context. Source strings are English;
the Chinese is in the catalog (locale/), and SMS and e-mail go out in Chinese.

A caller adds its kind here; `notify` refuses an unknown kind, and a context that lacks a value a
template names, before anything is written."""

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kind:
    title: Promise
    body: Promise
    sms: Promise

    def fields(self) -> set[str]:
        names = set()
        for template in (self.title, self.body, self.sms):
            names |= set(re.findall(r"%\((\w+)\)s", str(template)))
        return names


KINDS: dict[str, Kind] = {
    "consent_recorded": Kind(
        title=_("A consent for proxy filing was recorded in your name"),
        body=_(
            "%(recorder)s recorded at %(unit)s that %(agent)s may file for you: %(purpose)s, "
            "until %(until)s. If you did not agree, revoke it on your account page."
        ),
        sms=_(
            "%(unit)s recorded that %(agent)s may file for you (%(purpose)s) until %(until)s. "
            "If you did not agree, revoke it on your account page."
        ),
    ),
}


def render(kind: str, part: str, context: dict) -> str:
    """One part ("title", "body" or "sms") of a message in the active language. A kind no
    longer known (a message older than the code) shows as its name rather than failing a page."""
    template = KINDS.get(kind)
    if template is None:
        return kind
    try:
        return str(getattr(template, part)) % context
    except (KeyError, TypeError, ValueError):
        return str(getattr(template, part))
