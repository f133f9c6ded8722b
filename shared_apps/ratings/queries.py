"""Reads of ratings. The unit rated sees its ratings without the rater: `unit_ratings` selects
no rater and no case; only the rater's own reads (`rating_of_case` for the applicant) name a
case."""

from shared_apps.ratings.models import REASONS, Level, Rating

UNIT_FIELDS = (
    "item_name",
    "implementation_code",
    "department_name",
    "level",
    "reasons",
    "comment",
    "channel",
    "at",
)


def rating_of_case(case) -> Rating | None:
    return Rating.objects.filter(case_public_id=case.public_id).first()


def unit_ratings(tenant, *, level: int | None = None):
    """The unit's ratings, newest first, as dicts without the rater or the case."""
    rows = Rating.objects.filter(tenant=tenant)
    if level is not None:
        rows = rows.filter(level=level)
    return rows.order_by("-at", "-id").values(*UNIT_FIELDS)


def choices() -> dict:
    """What the rating form offers."""
    return {
        "levels": [(value, label) for value, label in Level.choices],
        "reasons": list(REASONS.items()),
    }
