"""The kinds of message and their texts: a title (inbox, e-mail subject), a body (inbox, e-mail)
and a short SMS, each a template filled from the message's context. Source strings are English;
the Chinese is in the catalog (locale/), and SMS and e-mail go out in Chinese.

A caller adds its kind here; `notify` refuses an unknown kind, and a context that lacks a value a
template names, before anything is written."""

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.text import format_lazy
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
    # Cases (办件): the steps an applicant must know of, relayed from the ledger's outbox by
    # tenant_apps.cases.notices; and yellow and red warnings to the staff who must act.
    "case_submitted": Kind(
        title=_("Application %(number)s submitted"),
        body=_(
            "%(unit)s received your application for “%(item)s” (case number %(number)s). You "
            "will be told whether it is accepted."
        ),
        sms=_("%(unit)s received your application for “%(item)s”, case number %(number)s."),
    ),
    "case_accepted": Kind(
        title=_("Application %(number)s accepted"),
        body=_(
            "%(unit)s accepted your application for “%(item)s” (case number %(number)s). It is "
            "to be decided by %(due)s. The acceptance notice is on the case page."
        ),
        sms=_(
            "%(unit)s accepted your application %(number)s (“%(item)s”); decision due by %(due)s."
        ),
    ),
    "case_not_accepted": Kind(
        title=_("Application %(number)s not accepted"),
        body=_(
            "%(unit)s did not accept your application for “%(item)s” (case number %(number)s). "
            "Reasons: %(reason)s. You may apply for administrative reconsideration or bring an "
            "administrative lawsuit according to law."
        ),
        sms=_("%(unit)s did not accept your application %(number)s (“%(item)s”): %(reason)s."),
    ),
    "case_corrections_requested": Kind(
        title=_("Application %(number)s: corrections needed"),
        body=_(
            "%(unit)s asks you to correct or supply the following for your application for "
            "“%(item)s” (case number %(number)s): %(items)s. Resubmit on the case page; the time "
            "limit does not run until you do."
        ),
        sms=_(
            "%(unit)s asks for corrections to your application %(number)s (“%(item)s”). See "
            "the case page for the full list."
        ),
    ),
    "case_decided": Kind(
        title=_("Application %(number)s decided"),
        body=_(
            "%(unit)s decided on your application for “%(item)s” (case number %(number)s): "
            "%(decision)s. The decision document is on the case page."
        ),
        sms=_("%(unit)s decided on your application %(number)s (“%(item)s”): %(decision)s."),
    ),
    "case_delivered": Kind(
        title=_("Result of application %(number)s delivered"),
        body=_(
            "%(unit)s delivered the result of your application for “%(item)s” (case number "
            "%(number)s): %(method)s."
        ),
        # A reply with a digit rates the case (shared_apps.ratings, SMS channel).
        sms=format_lazy(
            "{} {}",
            _("%(unit)s delivered the result of your application %(number)s: %(method)s."),
            _(
                "Reply 1 (very satisfied) to 5 (very dissatisfied) to rate the service; for 4 "
                "or 5 add a few words why."
            ),
        ),
    ),
    "case_suspended": Kind(
        title=_("Application %(number)s suspended"),
        body=_(
            "%(unit)s suspended the handling of your application for “%(item)s” (case number "
            "%(number)s): %(reason)s. The time this takes is not counted in the time limit."
        ),
        sms=_("%(unit)s suspended your application %(number)s (“%(item)s”): %(reason)s."),
    ),
    "case_resumed": Kind(
        title=_("Application %(number)s resumed"),
        body=_(
            "%(unit)s resumed the handling of your application for “%(item)s” (case number "
            "%(number)s). It is to be decided by %(due)s."
        ),
        sms=_("%(unit)s resumed your application %(number)s; decision due by %(due)s."),
    ),
    "case_extended": Kind(
        title=_("Time limit of application %(number)s extended"),
        body=_(
            "%(unit)s extended the time limit of your application for “%(item)s” (case number "
            "%(number)s) by %(days)s working days: %(reason)s. It is now to be decided by "
            "%(due)s."
        ),
        sms=_(
            "%(unit)s extended the time limit of your application %(number)s by %(days)s "
            "working days; decision due by %(due)s."
        ),
    ),
    "case_withdrawn": Kind(
        title=_("Application %(number)s withdrawn"),
        body=_(
            "Your application for “%(item)s” (case number %(number)s) at %(unit)s was withdrawn."
        ),
        sms=_("Your application %(number)s (“%(item)s”) at %(unit)s was withdrawn."),
    ),
    # Unified public payment (shared_apps.payments): a fee to pay, paid, or overdue.
    "payment_due": Kind(
        title=_("Fee to pay for application %(number)s"),
        body=_(
            "%(unit)s charges %(amount)s yuan for your application for “%(item)s” (case number "
            "%(number)s). Pay by %(due)s with payment slip number %(slip)s, on the case page or "
            "on the portal."
        ),
        sms=_(
            "%(unit)s: pay %(amount)s yuan for application %(number)s by %(due)s, payment slip "
            "number %(slip)s."
        ),
    ),
    "payment_received": Kind(
        title=_("Payment %(slip)s received"),
        body=_(
            "Your payment of %(amount)s yuan to %(unit)s for application %(number)s (payment "
            "slip number %(slip)s) was received. The receipt is on the payment page."
        ),
        sms=_("%(unit)s received your payment of %(amount)s yuan (slip %(slip)s)."),
    ),
    "payment_overdue": Kind(
        title=_("Payment %(slip)s is overdue"),
        body=_(
            "The fee of %(amount)s yuan for your application %(number)s at %(unit)s (payment "
            "slip number %(slip)s) was due by %(due)s and is not paid. The application waits "
            "for it."
        ),
        sms=_(
            "%(unit)s: the fee of %(amount)s yuan for application %(number)s (slip %(slip)s) "
            "was due by %(due)s and is not paid."
        ),
    ),
    "case_deadline_yellow": Kind(
        title=_("Yellow warning: case %(number)s"),
        body=_(
            "Most of the time limit of case %(number)s (“%(item)s”) is used; it is due by %(due)s."
        ),
        sms=_("Yellow warning: case %(number)s (“%(item)s”) is due by %(due)s."),
    ),
    "case_deadline_red": Kind(
        title=_("Red warning: case %(number)s is overdue"),
        body=_(
            "The time limit of case %(number)s (“%(item)s”) has run out (due by %(due)s). Act "
            "on it now."
        ),
        sms=_("Red warning: case %(number)s (“%(item)s”) is overdue (due by %(due)s)."),
    ),  # 督办: to the target unit's administrators and supervisors (shared_apps.supervision).
    "supervision_order_issued": Kind(
        title=_("Supervision order from %(unit)s"),
        body=_(
            "%(unit)s issued a supervision order to %(target)s, to be answered by %(deadline)s: "
            "%(reason)s. Acknowledge it and report the correction on the oversight pages."
        ),
        sms=_("%(unit)s issued a supervision order to %(target)s, due by %(deadline)s."),
    ),
    "supervision_order_returned": Kind(
        title=_("Supervision order from %(unit)s returned"),
        body=_(
            "%(unit)s returned its supervision order to %(target)s (due by %(deadline)s): the "
            "correction is not enough. Report again on the oversight pages."
        ),
        sms=_("%(unit)s returned its supervision order to %(target)s for more correction."),
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
