"""Ratings of the service (好差评, 国办发〔2019〕51号, GB/T 39734/39735-2020), in `public`: one rating
per case handled, whichever unit handled it, and the counts the rating action keeps in its own
transaction, so that the province's statistics are a sum over summary rows, never a count over
ratings or a query over the units' schemas (DESIGN.md §3, §5, §6).

A rating is never changed nor deleted (a trigger refuses it, migration 0001). It keeps the rater
(the case's applicant) so the rater can see their own rating; the unit rated reads ratings only
through queries that leave the rater out.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    VERY_SATISFIED = 1, _("Very satisfied")
    SATISFIED = 2, _("Satisfied")
    BASICALLY_SATISFIED = 3, _("Basically satisfied")
    DISSATISFIED = 4, _("Dissatisfied")
    VERY_DISSATISFIED = 5, _("Very dissatisfied")


# 4 and 5: a free text is required (and, later, a rectification task opens).
BAD_LEVELS = (Level.DISSATISFIED, Level.VERY_DISSATISFIED)


# The reasons a rater may tick (GB/T 39735 rating dimensions: the guide, the process, the time,
# the staff, the platform), as codes; at most all of them.
REASONS = {
    "clear_guide": _("The guide was clear"),
    "few_visits": _("Few or no visits needed"),
    "fast": _("Handled quickly"),
    "helpful_staff": _("Helpful staff"),
    "easy_online": _("Easy to do online"),
    "unclear_guide": _("The guide was unclear"),
    "extra_materials": _("Materials beyond the guide were asked for"),
    "many_visits": _("Too many visits"),
    "slow": _("Too slow"),
    "poor_attitude": _("Poor attitude of staff"),
    "system_problems": _("The online system did not work well"),
    "other": _("Other"),
}


class Channel(models.TextChoices):
    """The seven channels of the national system."""

    PC = "pc", _("Computer")
    MOBILE = "mobile", _("Mobile")
    QR = "qr", _("QR code")
    TABLET = "tablet", _("Hall tablet")
    TERMINAL = "terminal", _("Other hall terminal")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")


class Rating(models.Model):
    """The applicant's rating of one case (一事一评)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    # The unit's province, city and county codes, for the level summaries without a join.
    tenant_code = models.CharField(max_length=12)
    case_public_id = models.UUIDField(unique=True)
    case_number = models.CharField(max_length=50)
    implementation_code = models.CharField(max_length=31)
    item_name = models.CharField(max_length=200)
    department_id = models.BigIntegerField()
    department_name = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    reasons = models.JSONField(default=list)
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # The case's applicant (public user id): shown to the rater, never to the unit rated.
    rater_id = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="ratings_level_1_to_5"
            )
        ]
        indexes = [models.Index(fields=["tenant", "-at", "-id"], name="ratings_unit_newest")]

    def __str__(self):
        return f"{self.case_number} {self.level}"


class RatingToken(models.Model):
    """The one-time token of the QR code printed on a case's acceptance notice (扫码评价): kept
    only as its SHA-256, bound to the case, spent by the rating it gave."""

    digest = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    case_public_id = models.UUIDField(unique=True)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rating token")

    def __str__(self):
        return f"{self.case_public_id} {'used' if self.used_at else 'open'}"


def _count():
    # Database defaults too: the actions' upserts name only the columns they add to.
    return models.BigIntegerField(default=0, db_default=0)


class LevelCounts(models.Model):
    level_1 = _count()
    level_2 = _count()
    level_3 = _count()
    level_4 = _count()
    level_5 = _count()
    # Rectifications (整改) opened by bad ratings, reported back, and reported back in time.
    rectifications = _count()
    rectified = _count()
    rectified_on_time = _count()

    class Meta:
        abstract = True


class ItemRatingCount(LevelCounts):
    """The ratings of one unit's implementation of an item, by level."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    city_code = models.CharField(max_length=12)
    county_code = models.CharField(max_length=12)
    implementation_code = models.CharField(max_length=31)
    item_name = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("ratings of an item")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "implementation_code"], name="ratings_one_item_count"
            )
        ]

    def __str__(self):
        return f"{self.tenant_id} {self.implementation_code}"


class UnitRatingCount(LevelCounts):
    """The ratings of one unit, by level: the province's ranking reads these (2,646 rows at
    most)."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    city_code = models.CharField(max_length=12)
    county_code = models.CharField(max_length=12)
    # Rectification steps the deadline sweep marked yellow and red (a step marked yellow and
    # later red counts in both), and appeals the unit above upheld (the rating judged malicious).
    rectifications_yellow = _count()
    rectifications_red = _count()
    appeals_upheld = _count()

    class Meta:
        verbose_name = _("ratings of a unit")
        indexes = [
            models.Index(fields=["city_code"], name="ratings_unit_city"),
            models.Index(fields=["county_code"], name="ratings_unit_county"),
        ]

    def __str__(self):
        return str(self.tenant_id)


class Step(models.TextChoices):
    VERIFY = "verify", _("To verify")
    RECTIFY = "rectify", _("To rectify and report back")
    REPORTED = "reported", _("Reported back")
    APPEALED = "appealed", _("Appealed")
    CLOSED = "closed", _("Closed")


# The steps with a deadline (the sweep marks them yellow and red).
TIMED_STEPS = (Step.VERIFY, Step.RECTIFY)


class Rectification(models.Model):
    """The task a bad rating (4 or 5) opens for the unit rated (差评整改): verify (核实) within
    RATING_VERIFY_DAYS working days, rectify and report back to the citizen (整改反馈) within
    RATING_RECTIFY_DAYS more; the citizen may confirm. The unit may appeal a rating it believes
    malicious (申诉); a supervisor of the unit above decides. Like the rating, it names no rater:
    the unit reaches the citizen through its report back, shown on the citizen's case page."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="rectification")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    case_public_id = models.UUIDField(unique=True)
    step = models.CharField(max_length=10, choices=Step.choices, default=Step.VERIFY)
    # The current step's deadline and when it turns yellow (CASE_YELLOW_SHARE of its time).
    due_at = models.DateTimeField(null=True, blank=True)
    yellow_at = models.DateTimeField(null=True, blank=True)
    flag = models.CharField(max_length=6, blank=True)
    opened_at = models.DateTimeField()
    findings = models.TextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    measures = models.TextField(blank=True)
    report = models.TextField(blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    on_time = models.BooleanField(null=True)
    # The citizen's answer to the report back.
    confirmed = models.BooleanField(null=True)
    citizen_comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    appeal_reason = models.TextField(blank=True)
    appealed_from = models.CharField(max_length=10, choices=Step.choices, blank=True)
    appeal_upheld = models.BooleanField(null=True)
    appeal_decision = models.TextField(blank=True)
    appeal_decided_by_id = models.BigIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rectification")
        indexes = [
            models.Index(fields=["tenant", "step", "due_at"], name="ratings_rect_queue"),
            models.Index(
                fields=["due_at"],
                condition=models.Q(step__in=["verify", "rectify"]),
                name="ratings_rect_timed",
            ),
        ]

    def __str__(self):
        return f"{self.case_public_id} {self.step}"
