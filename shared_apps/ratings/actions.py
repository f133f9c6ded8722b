"""Every write of a rating (好差评): one transaction that checks the case (delivered or closed,
in the unit of the request), the rater (the case's applicant signed in, or the holder of the
case's QR token, or the phone the rating SMS was sent to), writes the rating, adds it to the
summaries and appends one audit entry. One rating per case: a unique constraint decides between
two submissions at once; the loser gets RatingConflict. No action changes or deletes a rating."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.audit.actions import Actor, record_audit
from shared_apps.ratings import tokens
from shared_apps.ratings.models import BAD_LEVELS, REASONS, Channel, Level, Rating, RatingToken
from tenant_apps.cases.models import Case, State
from tenant_apps.cases.validation import clean_text
from tenant_apps.departments.queries import current_tenant

RATEABLE = (State.DELIVERED, State.CLOSED)
COMMENT_MAX = 500
QR_RATER = "anonymous:qr"


class RatingConflict(Exception):
    """The case can't be rated now: rated already, or not handled yet (409)."""


class TokenRefused(Exception):
    """A QR token that matches no case of this unit, or one already spent."""


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
        _count(rating)
        record_audit(
            actor=who,
            action="ratings.rate",
            target=rating.case_number or str(rating.case_public_id),
            tenant=tenant,
            data={"level": level, "channel": channel},
            request=request,
        )
    return rating


def _count(rating: Rating) -> None:
    """Add the rating to its item's and its unit's counts (the published statistics read only
    these), in the rating's transaction."""
    column = f"level_{int(rating.level)}"
    ones = [int(n == rating.level) for n in Level.values]
    code = rating.tenant_code
    place = [rating.tenant_id, code[:4].ljust(12, "0"), code[:6].ljust(12, "0")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO public.ratings_itemratingcount AS c (tenant_id, city_code, county_code,
              implementation_code, item_name, level_1, level_2, level_3, level_4, level_5)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (tenant_id, implementation_code)
            DO UPDATE SET {column} = c.{column} + 1, item_name = EXCLUDED.item_name
            """,
            [*place, rating.implementation_code, rating.item_name, *ones],
        )
        cursor.execute(
            f"""
            INSERT INTO public.ratings_unitratingcount AS u (tenant_id, city_code, county_code,
              level_1, level_2, level_3, level_4, level_5)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (tenant_id) DO UPDATE SET {column} = u.{column} + 1
            """,
            [*place, *ones],
        )
