"""The provincial e-license library (电子证照库, GB/T 36901–36905-2018), in `public`: the license
types (证照目录), the issuing units' signing keys, the licenses themselves with their signed data
and signed PDF, and every use of a license (用证记录).

A license names its issuing unit (a tenant) and the department that issued it by credit code; its
holder is a person, found by the keyed digest of their ID number (never the number), or an
organisation by its unified social credit code.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from shared_apps.catalog.codes import EXERCISING_LEVELS


class LicenseType(models.Model):
    """A license type of the catalog (证照目录): what an approved item produces and which guide
    materials a license of the type stands in for (免提交)."""

    # The type code of the identifier (GB/T 36904: `1.2.156.3005.2.{type code}.…`).
    code = models.CharField(_("type code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    issuing_level = models.PositiveSmallIntegerField(
        _("issuing level"), choices=sorted(EXERCISING_LEVELS.items())
    )
    # The license's data items (照面信息) as a JSON Schema (an object's properties).
    fields_schema = models.JSONField(_("fields (JSON Schema)"), default=dict, blank=True)
    # Years a license is valid from its issue; none: valid until revoked (long-term, 长期有效).
    validity_years = models.PositiveSmallIntegerField(_("valid for (years)"), null=True, blank=True)
    # Guide material names (GuideMaterial.name) a license of this type stands in for.
    stands_for = models.JSONField(_("materials it stands in for"), default=list, blank=True)
    # Basic items whose approval produces a license of this type, issued at delivery.
    items = models.ManyToManyField(
        "catalog.BasicItem", blank=True, related_name="license_types", verbose_name=_("items")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("license type")
        verbose_name_plural = _("license types")

    def __str__(self):
        return f"{self.code} {self.name}"


class Algorithm(models.TextChoices):
    ECDSA_P256 = "ecdsa-p256-sha256", _("ECDSA P-256 with SHA-256")
    SM2_SM3 = "sm2-sm3", _("SM2 with SM3 (national cryptography)")


class SigningKey(models.Model):
    """An issuing unit's key. The private key is kept encrypted (signing.py); a rotated key is
    retired, never deleted: the licenses it signed name it and keep verifying."""

    key_id = models.CharField(max_length=40, unique=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="signing_keys"
    )
    algorithm = models.CharField(max_length=20, choices=Algorithm.choices)
    public_key = models.TextField()
    private_key_encrypted = models.TextField(editable=False)
    # A self-signed X.509 certificate for PAdES signatures (ECDSA keys only).
    certificate = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "algorithm"],
                condition=models.Q(retired_at__isnull=True),
                name="licenses_one_active_key",
            )
        ]

    def __str__(self):
        return self.key_id


class HolderKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class Status(models.TextChoices):
    VALID = "valid", _("Valid")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")
    # Replaced by a reissued version (after a change): the new version is the valid one.
    SUPERSEDED = "superseded", _("Superseded")


class TrustGrade(models.TextChoices):
    A = "A", _("A: issued by the body itself")
    B = "B", _("B: converted from paper by the issuing body")


class Source(models.TextChoices):
    CASE = "case", _("Case delivery")
    API = "api", _("Department system")


class SerialCounter(models.Model):
    """The last serial of a type and issuer: the serial part of the identifier."""

    type_code = models.CharField(max_length=32)
    issuer_code = models.CharField(max_length=18)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["type_code", "issuer_code"], name="licenses_one_counter"
            )
        ]

    def __str__(self):
        return f"{self.type_code}.{self.issuer_code}: {self.last}"


class License(models.Model):
    """One e-license (电子证照), one version of it: a reissue is a new row with the same serial
    and the next version, and the old row is superseded."""

    identifier = models.CharField(_("identifier"), max_length=128, unique=True)
    license_type = models.ForeignKey(LicenseType, on_delete=models.PROTECT, related_name="+")
    serial = models.PositiveBigIntegerField()
    version = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(_("name"), max_length=100)
    # 证照编号: the number printed on it (the case number for licenses issued at delivery).
    number = models.CharField(_("number"), max_length=50)
    holder_kind = models.CharField(max_length=12, choices=HolderKind.choices)
    holder_name = models.CharField(_("holder"), max_length=200)
    # ID number: keyed digest for look-ups and the masked form printed; never the number.
    holder_id_digest = models.CharField(max_length=64, blank=True, db_index=True)
    holder_id_masked = models.CharField(max_length=18, blank=True)
    # Encrypted as accounts keeps ID numbers: what re-keys the digest when IDENTITY_KEY rotates.
    holder_id_encrypted = models.TextField(blank=True, editable=False)
    holder_credit_code = models.CharField(max_length=18, blank=True, db_index=True)
    issuer_tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    issuer_name = models.CharField(_("issuer"), max_length=200)
    issuer_code = models.CharField(_("issuer code"), max_length=18)
    jurisdiction_code = models.CharField(max_length=12)
    issued_on = models.DateField(_("issue date"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    data = models.JSONField(_("data items"), default=dict, blank=True)
    trust_grade = models.CharField(max_length=1, choices=TrustGrade.choices)
    source = models.CharField(max_length=4, choices=Source.choices)
    case_number = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALID)
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    # The data signature (over signing.signed_payload) and the key that made it.
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    data_signature = models.TextField()
    # The signed PDF rendering (PAdES, signed with an ECDSA key's certificate).
    pdf_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("e-license")
        verbose_name_plural = _("e-licenses")
        # The license a delivered case issued (reuse, the case page).
        indexes = [models.Index(fields=["issuer_tenant", "case_number"], name="licenses_case")]

    def __str__(self):
        return self.identifier


class LicenseShare(models.Model):
    """The holder shares one license for a limited time: whoever has the code (or the link with
    it) sees the license with the holder's name until it expires or the holder withdraws it."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="shares")
    # SHA-256 of the code: the code itself is shown once, to the holder.
    code_digest = models.CharField(max_length=64, unique=True)
    created_by_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("license share")
        verbose_name_plural = _("license shares")

    def __str__(self):
        return f"{self.license} until {self.expires_at:%Y-%m-%d %H:%M}"


class UseKind(models.TextChoices):
    DOWNLOADED = "downloaded", _("Downloaded")
    SHARED = "shared", _("Shared")
    SHARE_OPENED = "share_opened", _("Opened through a share")
    REUSED = "reused", _("Used instead of a material")
    ISSUED = "issued", _("Issued")
    STATUS = "status", _("Status changed")


class LicenseUse(models.Model):
    """用证记录: who used a license, when, and for which case — what the holder sees."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="uses")
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=UseKind.choices)
    # Who (the audit log's actor name) and, for a reuse, the unit and the case.
    by = models.CharField(max_length=150)
    unit_name = models.CharField(max_length=100, blank=True)
    case_number = models.CharField(max_length=50, blank=True)
    details = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["license", "-at", "-id"]
        indexes = [models.Index(fields=["license", "-at"], name="licenses_use_log")]

    def __str__(self):
        return f"{self.license} {self.kind} {self.at:%Y-%m-%d %H:%M}"
