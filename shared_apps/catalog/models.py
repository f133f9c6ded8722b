"""The unified catalog (基本目录) and every unit's implementation list (实施清单), in `public`.

Published implementations live here rather than in tenant schemas so that province-wide search and
routing read one indexed table instead of 2,646 schemas (docs/design/implementation-lists.md).
Every row names its tenant; writes go through shared_apps.catalog.actions, which allow a tenant's
administrators to change only their own rows.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from shared_apps.catalog.codes import EXERCISING_LEVELS, ITEM_TYPES, validate_basic_code


class OnlineDepth(models.IntegerChoices):
    """网上办理深度, cumulative: each level includes the ones before."""

    CONSULTATION = 1, _("Online consultation")
    SUBMISSION = 2, _("Online submission")
    PRE_REVIEW = 3, _("Online pre-review")
    ACCEPTANCE = 4, _("Online acceptance")
    HANDLING = 5, _("Online handling")
    RESULT = 6, _("Result delivered online")
    E_LICENSE = 7, _("Electronic licence delivered")


class BasicItem(models.Model):
    """A basic item (基本目录事项): one code and one standard guide across the province."""

    code = models.CharField(
        _("basic code"), max_length=12, unique=True, validators=[validate_basic_code]
    )
    name = models.CharField(_("name"), max_length=200)
    item_type = models.CharField(_("item type"), max_length=2, choices=sorted(ITEM_TYPES.items()))
    exercising_levels = models.JSONField(_("exercising levels"), default=list)
    main_item = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_items",
        verbose_name=_("main item"),
    )
    themes = models.JSONField(
        _("themes"), default=list, blank=True, help_text=_("e.g. birth, school, business")
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    # The name, keywords and themes segmented into words (jieba), for full-text search: PostgreSQL's
    # parser doesn't split Chinese, and the embedded database has no pg_trgm.
    search_text = models.TextField(default="", editable=False)
    search_vector = models.GeneratedField(
        expression=SearchVector("search_text", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("basic item")
        verbose_name_plural = _("basic items")
        ordering = ["code"]
        indexes = [GinIndex(fields=["search_vector"], name="catalog_item_search")]

    def __str__(self):
        return f"{self.code} {self.name}"

    def exercising_level_names(self) -> list[str]:
        return [EXERCISING_LEVELS.get(level, str(level)) for level in self.exercising_levels]


class GuideVersion(models.Model):
    """One version of a basic item's standard guide (办事指南). Published versions are immutable;
    their validity periods never overlap; an application pins the version it was filed under."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    item = models.ForeignKey(BasicItem, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    legal_basis = models.TextField(_("legal basis"))
    conditions = models.TextField(_("conditions"))
    process = models.TextField(_("process"))
    statutory_days = models.PositiveIntegerField(_("statutory time limit (working days)"))
    fees = models.JSONField(_("fees"), default=list, blank=True)
    result_name = models.CharField(_("result"), max_length=200, blank=True)
    in_person_visits = models.PositiveSmallIntegerField(_("in-person visits"), default=0)
    intermediary_services = models.TextField(_("intermediary services"), blank=True)
    max_online_depth = models.PositiveSmallIntegerField(
        _("online depth allowed"), choices=OnlineDepth.choices, default=OnlineDepth.SUBMISSION
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("guide version")
        verbose_name_plural = _("guide versions")
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="one_version_number")
        ]
        indexes = [models.Index(fields=["item", "status", "valid_from"])]

    def __str__(self):
        return f"{self.item.name} v{self.number}"


class GuideMaterial(models.Model):
    """A material the guide lists (申请材料). Nothing beyond these may be demanded."""

    class Form(models.TextChoices):
        PAPER = "paper", _("Paper")
        ELECTRONIC = "electronic", _("Electronic")
        BOTH = "both", _("Paper or electronic")

    class Source(models.TextChoices):
        APPLICANT = "applicant", _("The applicant")
        GOVERNMENT = "government", _("Issued by a government body")
        OTHER = "other", _("Other")

    class Necessity(models.TextChoices):
        REQUIRED = "required", _("Required")
        OPTIONAL = "optional", _("Optional")
        LATER = "later", _("Accepted now, supplied later")

    version = models.ForeignKey(GuideVersion, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("name"), max_length=200)
    basis = models.CharField(_("basis"), max_length=300, blank=True)
    form = models.CharField(_("form"), max_length=10, choices=Form.choices, default=Form.BOTH)
    originals = models.PositiveSmallIntegerField(_("originals"), default=1)
    copies = models.PositiveSmallIntegerField(_("copies"), default=0)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.APPLICANT
    )
    necessity = models.CharField(
        _("necessity"), max_length=10, choices=Necessity.choices, default=Necessity.REQUIRED
    )
    blank_form_url = models.URLField(_("blank form"), blank=True)
    sample_url = models.URLField(_("sample"), blank=True)
    notes = models.TextField(_("filling notes"), blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class GuideFee(models.Model):
    """A fee the guide lists (收费项目): what it is, how much (a declared rule, catalog/fees.py), on
    what legal basis, who is exempt, and when it is charged. Nothing beyond these may be charged;
    frozen with its published version like the materials."""

    class Stage(models.TextChoices):
        ACCEPTANCE = "acceptance", _("On acceptance")
        DELIVERY = "delivery", _("Before the result is delivered")

    version = models.ForeignKey(GuideVersion, on_delete=models.CASCADE, related_name="fee_items")
    name = models.CharField(_("fee item"), max_length=100)
    # 非税收入项目编码 where the finance department gives one.
    revenue_code = models.CharField(_("revenue item code"), max_length=20, blank=True)
    rule = models.JSONField(_("amount rule"))
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    waivers = models.JSONField(_("waivers"), default=list, blank=True)
    stage = models.CharField(_("charged"), max_length=10, choices=Stage.choices)
    # The case waits for the payment before its next step (审查 or 送达).
    case_waits = models.BooleanField(_("the case waits for payment"), default=True)
    days_to_pay = models.PositiveSmallIntegerField(_("days to pay"), default=15)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Implementation(models.Model):
    """A unit's implementation of a basic item (实施清单事项), pinned to the guide version it follows."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="implementations"
    )
    item = models.ForeignKey(BasicItem, on_delete=models.PROTECT, related_name="implementations")
    version = models.ForeignKey(
        GuideVersion, on_delete=models.PROTECT, related_name="implementations"
    )
    code = models.CharField(_("implementation code"), max_length=31)
    # The department lives in the tenant's schema: kept by id with its name and credit code.
    department_id = models.BigIntegerField()
    department_name = models.CharField(_("department"), max_length=100)
    department_credit_code = models.CharField(max_length=18)
    exercising_level = models.PositiveSmallIntegerField(choices=sorted(EXERCISING_LEVELS.items()))
    promised_days = models.PositiveIntegerField(_("promised time limit (working days)"))
    place = models.CharField(_("place"), max_length=300)
    hours = models.CharField(_("hours"), max_length=200)
    enquiry_phone = models.CharField(_("enquiry phone"), max_length=40)
    complaint_phone = models.CharField(_("complaint phone"), max_length=40)
    window = models.CharField(_("window"), max_length=100, blank=True)
    co_implementers = models.CharField(_("co-implementing bodies"), max_length=300, blank=True)
    online_depth = models.PositiveSmallIntegerField(
        _("online depth"),
        choices=OnlineDepth.choices,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
    )
    fully_online = models.BooleanField(_("fully online"), default=False)
    form_schema = models.JSONField(_("application form (JSON Schema)"), default=dict, blank=True)
    # 多级联办 (收受分离): accepted here, decided by this ancestor unit (which implements the same
    # item). Empty: this unit decides (shared_apps.handoffs, docs/design/handoffs.md).
    decided_by = models.ForeignKey(
        "tenants.Tenant",
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("implemented item")
        verbose_name_plural = _("implementation list")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "item"],
                condition=models.Q(status="published"),
                name="one_published_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=~models.Q(status="withdrawn"),
                name="one_live_implementation_code",
            ),
        ]
        indexes = [
            models.Index(fields=["item", "status", "tenant"]),
            models.Index(fields=["tenant", "status"]),
        ]

    def __str__(self):
        return f"{self.code} {self.item.name}"


class ImplementationMaterial(models.Model):
    """A guide material this unit asks for; optionally filled in as a form section (申报材料表单化)."""

    implementation = models.ForeignKey(
        Implementation, on_delete=models.CASCADE, related_name="materials"
    )
    guide_material = models.ForeignKey(GuideMaterial, on_delete=models.PROTECT)
    as_form_section = models.CharField(_("form section"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["implementation", "guide_material"], name="one_row_per_material"
            )
        ]

    def __str__(self):
        return self.guide_material.name


class DepartmentRegistration(models.Model):
    """The province-wide register of department credit codes (部门统一社会信用代码登记).

    Departments live in their unit's schema, where a credit code is unique only within the unit;
    implementation codes start with the department's credit code and are province-wide. Every
    department is registered here in the same transaction that creates it, so one credit code
    belongs to one department of one unit, and no unit can take over another's codes.
    """

    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="department_registrations"
    )
    # The department's id in the tenant's schema.
    department_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("department registration")
        verbose_name_plural = _("department registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "department_id"], name="one_registration_per_department"
            )
        ]

    def __str__(self):
        return f"{self.credit_code} ({self.tenant_id}/{self.department_id})"


class ParallelRule(models.TextChoices):
    # Every department gives its opinion; then the lead department decides with all of them.
    COLLECT_ALL = "collect_all", _("Collect every opinion")
    # The first refusal ends the case as refused (不予许可) and cancels the open tasks.
    STOP_AT_REFUSAL = "stop_at_refusal", _("Stop at the first refusal")


class ParallelReview(models.Model):
    """并联审批 of one implementation: after acceptance the departments below review the case at
    once, each on its own clock. The implementing department is the lead department (牵头部门):
    it accepted the case, sees every opinion and decides once all are in."""

    implementation = models.OneToOneField(
        Implementation, on_delete=models.CASCADE, related_name="parallel_review"
    )
    rule = models.CharField(_("rule"), max_length=20, choices=ParallelRule.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("parallel review")
        verbose_name_plural = _("parallel reviews")

    def __str__(self):
        return f"{self.implementation.code} {self.get_rule_display()}"


class ParallelDepartment(models.Model):
    """One department taking part in a parallel review: of the implementing unit, or of another
    unit (its task then goes there by hand-off, its opinion comes back the same way)."""

    review = models.ForeignKey(ParallelReview, on_delete=models.CASCADE, related_name="departments")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    # The department lives in its unit's schema: kept by id with its name.
    department_id = models.BigIntegerField()
    department_name = models.CharField(_("department"), max_length=100)
    # Working days it has for its opinion, counted from acceptance.
    days = models.PositiveIntegerField(_("time limit (working days)"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "tenant", "department_id"], name="one_task_per_department"
            )
        ]

    def __str__(self):
        return self.department_name


class Bundle(models.Model):
    """一件事一次办: a named set of items applied for once, with one combined form and one set of
    materials. A unit's bundle is offered by that unit; a province-wide one (no unit) by every
    unit that publishes all of its items."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundles",
    )
    items = models.ManyToManyField(BasicItem, related_name="bundles", verbose_name=_("items"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"
