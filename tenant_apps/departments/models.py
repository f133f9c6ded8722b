from django.db import models
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.identity import normalize_credit_code


def validate_credit_code(value: str) -> None:
    normalize_credit_code(value)


class Department(models.Model):
    """A department (部门) of the tenant's government: the body that implements and decides items."""

    name = models.CharField(_("name"), max_length=100)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    phone = models.CharField(_("enquiry phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["id"]

    def __str__(self):
        return self.name
