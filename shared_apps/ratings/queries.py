"""Reads of ratings. The unit rated sees its ratings without the rater: `unit_ratings` selects
no rater and no case; only the rater's own reads (`rating_of_case` for the applicant) name a
case."""

from django.db.models import Case, F, FloatField, Sum, When
from django.db.models.functions import Cast

from shared_apps.ratings.models import REASONS, ItemRatingCount, Level, Rating, UnitRatingCount

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


# --- published statistics (好差评公示): from the summaries only, no personal data ---------------

SATISFIED = F("level_1") + F("level_2") + F("level_3")
TOTAL = SATISFIED + F("level_4") + F("level_5")


def _shares(rows):
    """Rank figures: the share satisfied (非常满意、满意、基本满意 among all ratings) and the share of
    rectifications reported back in time, computed in the database so the ranking is one
    ordered read."""
    return rows.annotate(
        total=TOTAL,
        satisfied=SATISFIED,
        satisfied_share=Case(
            When(total__gt=0, then=Cast(SATISFIED, FloatField()) / Cast(TOTAL, FloatField())),
            default=None,
        ),
        on_time_share=Case(
            When(
                rectified__gt=0,
                then=Cast(F("rectified_on_time"), FloatField())
                / Cast(F("rectified"), FloatField()),
            ),
            default=None,
        ),
    )


def ranking(*, within: str | None = None):
    """Every rated unit of the province (or of a city or county by its 12-digit code), the most
    satisfied first, then the most rated: one read of at most 2,646 summary rows."""
    rows = UnitRatingCount.objects.select_related("tenant")
    significant = (within or "").rstrip("0")
    if 2 < len(significant) <= 4:
        rows = rows.filter(city_code=within)
    elif len(significant) > 4:
        rows = rows.filter(county_code=within[:6].ljust(12, "0"))
    return _shares(rows).order_by(
        F("satisfied_share").desc(nulls_last=True), "-total", "tenant__code"
    )


def province_figures() -> dict:
    """The province's totals: one SUM over the units' summaries."""
    sums = UnitRatingCount.objects.aggregate(
        **{name: Sum(name) for name in FIGURES},
    )
    return {name: sums[name] or 0 for name in FIGURES}


def unit_items(tenant):
    """A unit's items and their figures, the most rated first."""
    return _shares(ItemRatingCount.objects.filter(tenant=tenant)).order_by(
        "-total", "implementation_code"
    )


FIGURES = (
    "level_1",
    "level_2",
    "level_3",
    "level_4",
    "level_5",
    "rectifications",
    "rectified",
    "rectified_on_time",
    "rectifications_yellow",
    "rectifications_red",
    "appeals_upheld",
)
