"""Every write of a rating (好差评) and of the rectification a bad one opens (差评整改).

A rating: one transaction that checks the case (delivered or closed, in the unit of the request)
and the rater (the case's applicant signed in, or the holder of the case's QR token), writes the
rating, opens the rectification of a 4 or 5, adds both to the summaries and appends one audit
entry. One rating per case: a unique constraint decides between two submissions at once; the
loser gets RatingConflict. No action changes or deletes a rating.

A rectification step: one transaction that locks the task, checks its step and the actor's role
(the unit's administrators and department heads; the citizen answers the report back; a
supervisor of the unit above decides an appeal), moves it, keeps the summaries and audits."""

import logging
import unicodedata
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts import authz
from shared_apps.accounts.models import Role
from shared_apps.audit.actions import Actor, record_audit
from shared_apps.ratings import tokens
from shared_apps.ratings.models import (
    BAD_LEVELS,
    REASONS,
    TIMED_STEPS,
    Channel,
    Level,
    Rating,
    RatingToken,
    Rectification,
    Step,
)
from tenant_apps.cases import clock
from tenant_apps.cases.models import Case, State
from tenant_apps.cases.validation import clean_text
from tenant_apps.departments.queries import current_tenant

RATEABLE = (State.DELIVERED, State.CLOSED)
COMMENT_MAX = 500
TEXT_MAX = 2000
QR_RATER = "anonymous:qr"
# Who works a rectification in the unit rated.
HANDLERS = frozenset({Role.TENANT_ADMIN, Role.DEPARTMENT_HEAD})
logger = logging.getLogger(__name__)


class RatingConflict(Exception):
    """The case can't be rated now: rated already, or not handled yet (409)."""


class TokenRefused(Exception):
    """A QR token or an SMS reply that matches no case (of this unit), or a token already spent."""


def rate(
    case: Case, *, actor, level: int, reasons=(), comment: str = "", channel: str, request=None
) -> Rating:
    """The applicant, signed in, rates their case on the case page or through the API."""
    who = Actor.of(actor)
    if channel not in (Channel.PC, Channel.MOBILE):
        raise ValidationError({"channel": [_("Unknown channel.")]})
    if who.user is None or who.user.pk != case.applicant_id:
        raise PermissionDenied(_("Only the applicant rates a case."))
    return _rate(case, who, level, reasons, comment, channel, request)


def rate_with_token(
    token: str, *, level: int, reasons=(), comment: str = "", request=None
) -> Rating:
    """Whoever holds the QR code of the case's acceptance notice rates it, without signing in;
    the token is spent by the rating, in its transaction."""
    tenant = current_tenant()
    with transaction.atomic():
        row = (
            RatingToken.objects.select_for_update()
            .filter(digest=tokens.digest(token or ""), tenant=tenant)
            .first()
        )
        case = Case.objects.filter(public_id=row.case_public_id).first() if row else None
        if case is None:
            raise TokenRefused(_("This rating code is not valid."))
        if row.used_at is not None:
            raise TokenRefused(_("This rating code has been used already."))
        rating = _rate(case, Actor(label=QR_RATER), level, reasons, comment, Channel.QR, request)
        row.used_at = rating.at
        row.save(update_fields=["used_at"])
    return rating


def rate_by_sms(*, phone: str, reference: str, text: str, request=None) -> Rating:
    """短信评价: the applicant's reply to the SMS telling them their result was delivered — a
    digit 1–5, then the reason in words for 4 and 5. `reference` names the SMS replied to (our
    delivery's id, as sent to the gateway); the reply must come from the number it went to, and
    from the case's applicant (a proxy agent told too does not rate)."""
    from shared_apps.notifications.models import Delivery

    reply = unicodedata.normalize("NFKC", text or "").strip()
    level = int(reply[0]) if reply[:1] in ("1", "2", "3", "4", "5") else None
    if level is None:
        raise ValidationError({"text": [_("Reply with a digit from 1 to 5.")]})
    sent = (
        Delivery.objects.select_related("message__user", "message__tenant")
        .filter(
            pk=int(reference) if reference.isdecimal() and len(reference) < 19 else 0,
            channel=Delivery.Channel.SMS,
            address=phone,
            message__kind="case_delivered",
        )
        .first()
    )
    message = sent.message if sent else None
    tenant = message.tenant if message else None
    if tenant is None or "case" not in message.context:
        raise TokenRefused(_("This reply answers no rating invitation."))
    previous = connection.tenant
    connection.set_tenant(tenant)
    try:
        case = Case.objects.filter(public_id=message.context["case"]).first()
        if case is None or case.applicant_id != message.user_id:
            raise TokenRefused(_("This reply answers no rating invitation."))
        return _rate(
            case,
            Actor(user=message.user),
            level,
            (),
            reply[1:].strip(" ，,.。:："),
            Channel.SMS,
            request,
        )
    finally:
        connection.set_tenant(previous)


def _clean(level, reasons, comment) -> tuple[int, list[str], str]:
    if level not in Level.values:
        raise ValidationError({"level": [_("Choose a rating from 1 to 5.")]})
    reasons = list(dict.fromkeys(reasons or ()))
    if any(reason not in REASONS for reason in reasons):
        raise ValidationError({"reasons": [_("Choose reasons from the list.")]})
    comment = clean_text(comment, "comment", required=level in BAD_LEVELS, max_length=COMMENT_MAX)
    return level, reasons, comment


def _rate(case, who: Actor, level, reasons, comment, channel, request) -> Rating:
    level, reasons, comment = _clean(level, reasons, comment)
    tenant = current_tenant()
    with transaction.atomic():
        # Read the case under its lock: a case being reopened or passed on is not rated meanwhile.
        locked = Case.objects.select_for_update().filter(pk=case.pk).first()
        if locked is None or locked.state not in RATEABLE:
            raise RatingConflict(_("A case is rated once its result has been delivered."))
        if Rating.objects.filter(case_public_id=locked.public_id).exists():
            raise RatingConflict(_("This case has been rated already; a rating can't be changed."))
        rating = Rating(
            tenant=tenant,
            tenant_code=tenant.code,
            case_public_id=locked.public_id,
            case_number=locked.number or "",
            implementation_code=locked.implementation_code,
            item_name=locked.item_name,
            department_id=locked.department_id,
            department_name=locked.department_name,
            level=level,
            reasons=reasons,
            comment=comment,
            channel=channel,
            rater_id=locked.applicant_id,
            at=timezone.now(),
        )
        try:
            with transaction.atomic():
                rating.save(force_insert=True)
        except IntegrityError:
            # Another submission for the case committed first (the unique constraint decided).
            raise RatingConflict(
                _("This case has been rated already; a rating can't be changed.")
            ) from None
        bad = rating.level in BAD_LEVELS
        if bad:
            _open_rectification(rating)
        _count(rating, rectifications=int(bad))
        record_audit(
            actor=who,
            action="ratings.rate",
            target=rating.case_number or str(rating.case_public_id),
            tenant=tenant,
            data={"level": level, "channel": channel},
            request=request,
        )
    return rating


def _count(rating: Rating, *, rectifications: int) -> None:
    """Add the rating (and the rectification it opened) to its item's and its unit's counts (the
    published statistics read only these), in the rating's transaction."""
    column = f"level_{int(rating.level)}"
    ones = [int(n == rating.level) for n in Level.values] + [rectifications]
    code = rating.tenant_code
    place = [rating.tenant_id, code[:4].ljust(12, "0"), code[:6].ljust(12, "0")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO public.ratings_itemratingcount AS c (tenant_id, city_code, county_code,
              implementation_code, item_name, level_1, level_2, level_3, level_4, level_5,
              rectifications)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (tenant_id, implementation_code)
            DO UPDATE SET {column} = c.{column} + 1, item_name = EXCLUDED.item_name,
              rectifications = c.rectifications + EXCLUDED.rectifications
            """,
            [*place, rating.implementation_code, rating.item_name, *ones],
        )
        cursor.execute(
            f"""
            INSERT INTO public.ratings_unitratingcount AS u (tenant_id, city_code, county_code,
              level_1, level_2, level_3, level_4, level_5, rectifications)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (tenant_id) DO UPDATE SET {column} = u.{column} + 1,
              rectifications = u.rectifications + EXCLUDED.rectifications
            """,
            [*place, *ones],
        )


# --- the rectification loop (差评整改) -------------------------------------------------------------


def _deadline(start: datetime, days: int) -> tuple[datetime | None, datetime | None]:
    """The end of the `days`-th working day after `start`, and when the step turns yellow
    (CASE_YELLOW_SHARE of the time). A year the official calendar does not cover: unknown (the
    step is not marked), logged as an error, never a weekday guess."""
    try:
        due = clock.end_of(clock.add_working_days(clock.local_day(start), days))
    except clock.CalendarNotCovered as error:
        logger.error("Rectification deadline unknown: %s", error)
        return None, None
    return due, start + (due - start) * settings.CASE_YELLOW_SHARE


def _open_rectification(rating: Rating) -> Rectification:
    due, yellow = _deadline(rating.at, settings.RATING_VERIFY_DAYS)
    return Rectification.objects.create(
        rating=rating,
        tenant_id=rating.tenant_id,
        case_public_id=rating.case_public_id,
        step=Step.VERIFY,
        due_at=due,
        yellow_at=yellow,
        opened_at=rating.at,
    )


def _add(task: Rectification, *, item: bool = True, **columns) -> None:
    """Add to the summaries of the task's item and unit (`item=False`: the unit's only)."""
    sets = ", ".join(f"{name} = {name} + %s" for name in columns)
    values = list(columns.values())
    with connection.cursor() as cursor:
        if item:
            cursor.execute(
                f"UPDATE public.ratings_itemratingcount SET {sets}"
                " WHERE tenant_id = %s AND implementation_code = %s",
                [*values, task.tenant_id, task.rating.implementation_code],
            )
        cursor.execute(
            f"UPDATE public.ratings_unitratingcount SET {sets} WHERE tenant_id = %s",
            [*values, task.tenant_id],
        )


def _step(task, who: Actor, steps, action: str, change, *, roles=HANDLERS, request=None, data=None):
    """Lock the task, check its step and the actor, apply `change(task, now)`, audit."""
    with transaction.atomic():
        locked = (
            Rectification.objects.select_for_update()
            .select_related("rating", "tenant")
            .filter(pk=task.pk)
            .first()
        )
        if locked is None or locked.step not in steps:
            raise RatingConflict(_("This rectification has moved on; reload the page."))
        if roles is not None and not (authz.roles_in(who.user, locked.tenant) & roles):
            raise PermissionDenied(_("You may not work on this unit's rectifications."))
        now = timezone.now()
        change(locked, now)
        locked.save()
        record_audit(
            actor=who,
            action=f"ratings.{action}",
            target=locked.rating.case_number or str(locked.case_public_id),
            tenant=locked.tenant,
            data={"step": locked.step, **(data or {})},
            request=request,
        )
    return locked


def verify(task: Rectification, *, actor, findings: str, request=None) -> Rectification:
    """核实: the unit has contacted the citizen and records what it found; the rectification's
    time (RATING_RECTIFY_DAYS working days) starts."""
    findings = clean_text(findings, "findings", required=True, max_length=TEXT_MAX)

    def change(task, now):
        task.findings, task.verified_at, task.step = findings, now, Step.RECTIFY
        task.due_at, task.yellow_at = _deadline(now, settings.RATING_RECTIFY_DAYS)
        task.flag = ""

    return _step(task, Actor.of(actor), (Step.VERIFY,), "verify", change, request=request)


def report_back(
    task: Rectification, *, actor, measures: str, report: str, request=None
) -> Rectification:
    """整改反馈: what the unit changed, and its word to the citizen (shown on their case page)."""
    measures = clean_text(measures, "measures", required=True, max_length=TEXT_MAX)
    report = clean_text(report, "report", required=True, max_length=TEXT_MAX)

    def change(task, now):
        task.on_time = task.due_at is None or now <= task.due_at
        task.measures, task.report, task.reported_at = measures, report, now
        task.step, task.due_at, task.yellow_at = Step.REPORTED, None, None
        _add(task, rectified=1, rectified_on_time=int(task.on_time))

    return _step(task, Actor.of(actor), (Step.RECTIFY,), "report_back", change, request=request)


def answer_report(
    task: Rectification, *, actor, confirmed: bool, comment: str = "", request=None
) -> Rectification:
    """The citizen confirms the rectification (or says it did not help); the task closes."""
    who = Actor.of(actor)
    if who.user is None or who.user.pk != task.rating.rater_id:
        raise PermissionDenied(_("Only the citizen who rated answers the report back."))
    comment = clean_text(comment, "comment", max_length=COMMENT_MAX)

    def change(task, now):
        task.confirmed, task.citizen_comment, task.answered_at = bool(confirmed), comment, now
        task.step, task.closed_at = Step.CLOSED, now

    return _step(
        task,
        who,
        (Step.REPORTED,),
        "answer_report",
        change,
        roles=None,
        request=request,
        data={"confirmed": bool(confirmed)},
    )


def appeal(task: Rectification, *, actor, reason: str, request=None) -> Rectification:
    """申诉: the unit believes the rating malicious; the clock stops until the unit above decides."""
    reason = clean_text(reason, "reason", required=True, max_length=TEXT_MAX)

    def change(task, now):
        if task.tenant.parent_id is None:
            raise RatingConflict(_("No unit above decides this unit's appeals."))
        task.appeal_reason, task.appealed_from, task.step = reason, task.step, Step.APPEALED

    return _step(task, Actor.of(actor), TIMED_STEPS, "appeal", change, request=request)


def decide_appeal(
    task: Rectification, *, actor, upheld: bool, reason: str, request=None
) -> Rectification:
    """The unit above decides an appeal, by one of its supervisors only (not the unit's own):
    upheld, the rating stands but is counted as judged malicious and the task closes; refused,
    the task goes back to its step and its time."""
    who = Actor.of(actor)
    reason = clean_text(reason, "reason", required=True, max_length=TEXT_MAX)
    parent = task.tenant.parent if task.tenant.parent_id else None
    if parent is None or Role.SUPERVISOR not in authz.roles_in(who.user, parent):
        raise PermissionDenied(_("Only a supervisor of the unit above decides this appeal."))

    def change(task, now):
        task.appeal_upheld, task.appeal_decision = bool(upheld), reason
        task.appeal_decided_by_id = who.user.pk
        if upheld:
            task.step, task.closed_at, task.due_at, task.yellow_at = Step.CLOSED, now, None, None
            _add(task, item=False, appeals_upheld=1)
        else:
            task.step = task.appealed_from

    return _step(
        task,
        who,
        (Step.APPEALED,),
        "decide_appeal",
        change,
        roles=None,
        request=request,
        data={"upheld": bool(upheld)},
    )


def mark_rectification_deadlines(*, actor="system:ratings", at=None) -> dict:
    """Mark the province's open steps yellow and red as of `at`: one set-based statement over the
    `public` table (no unit's schema), which adds the newly marked steps to their units' counts in
    the same transaction. Audited (once, in the province's chain) only when a step was marked."""
    at = at or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH marked AS (
              UPDATE public.ratings_rectification r
              SET flag = CASE WHEN r.due_at <= %(at)s THEN 'red' ELSE 'yellow' END
              WHERE r.step IN ('verify', 'rectify') AND r.due_at IS NOT NULL
                AND ((r.due_at <= %(at)s AND r.flag <> 'red')
                  OR (r.yellow_at <= %(at)s AND r.flag = ''))
              RETURNING r.tenant_id, r.flag
            ),
            counted AS (
              UPDATE public.ratings_unitratingcount u
              SET rectifications_yellow = u.rectifications_yellow + m.yellow,
                rectifications_red = u.rectifications_red + m.red
              FROM (SELECT tenant_id, count(*) FILTER (WHERE flag = 'yellow') AS yellow,
                  count(*) FILTER (WHERE flag = 'red') AS red
                FROM marked GROUP BY tenant_id) m
              WHERE u.tenant_id = m.tenant_id
              RETURNING 1
            )
            SELECT count(*) FILTER (WHERE flag = 'yellow'), count(*) FILTER (WHERE flag = 'red'),
              (SELECT count(*) FROM counted)
            FROM marked
            """,
            {"at": at},
        )
        yellow, red, units = cursor.fetchone()
        counts = {"yellow": yellow, "red": red, "units": units}
        if yellow or red:
            record_audit(actor=actor, action="ratings.deadlines_marked", data=counts)
    return counts
