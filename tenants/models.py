from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

division_code_validator = RegexValidator(r"^\d{12}$", _("A division code has exactly 12 digits."))


class Tenant(TenantMixin):
    """An administrative unit (行政区划单位): province, city, county or township, with its own schema,
    subdomain and staff. The provincial `public` schema is not a tenant; it serves the base domain."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")
        TOWNSHIP = "township", _("Township")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        RETIRED = "retired", _("Retired")

    code = models.CharField(
        _("division code"), max_length=12, unique=True, validators=[division_code_validator]
    )
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Assigned once from the name's pinyin and never changed, so links keep working after a rename.
    subdomain = models.CharField(_("subdomain"), max_length=63, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("reason for the status"), max_length=200, blank=True)
    # Set in the same transaction that creates the schema: the schema exists iff this is set.
    provisioned_at = models.DateTimeField(_("provisioned at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    # What a division import's retirement replaced, so reinstating restores it (a suspended unit
    # comes back suspended, with its reason).
    status_before_retirement = models.CharField(max_length=10, choices=Status.choices, blank=True)
    reason_before_retirement = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created by tenants.provisioning (fast path) and never dropped with the row.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["parent", "level"]),
            models.Index(fields=["level", "status"]),
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    """An extra hostname for a tenant (e.g. a county's own `zwfw.example.gov.cn`). Every tenant is
    reachable at `<subdomain>.<PLATFORM_BASE_DOMAIN>` without a row here."""

    class Meta:
        verbose_name = _("extra hostname")
        verbose_name_plural = _("extra hostnames")


class SchemaTemplate(models.Model):
    """The DDL that building a tenant schema by its migrations executes, captured once per migration
    state (fingerprint) and replayed to provision new schemas in one round trip."""

    fingerprint = models.CharField(max_length=64, primary_key=True)
    sql = models.TextField()
    migrations = models.JSONField(help_text="[app, name] of every migration the schema records")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"schema template {self.fingerprint[:12]}"


class SubdomainAlias(models.Model):
    """A former subdomain of a unit (a corrected misreading: tahe → luohe). Requests to it are
    redirected to the unit's subdomain with the same path and query; it is never given to another
    unit."""

    subdomain = models.CharField(_("former subdomain"), max_length=63, unique=True)
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=_("administrative unit"),
        on_delete=models.PROTECT,
        related_name="subdomain_aliases",
    )
    created_at = models.DateTimeField(_("replaced at"), auto_now_add=True)

    class Meta:
        verbose_name = _("former subdomain")
        verbose_name_plural = _("former subdomains")
        ordering = ["subdomain"]

    def __str__(self):
        return self.subdomain
