from django import forms
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.backends import MAX_IDENTIFIER_LENGTH, normalize_identifier

# Long enough for any passphrase, short enough that hashing it costs nothing extra.
MAX_PASSWORD_LENGTH = 1024


class IdentifierField(forms.CharField):
    """A phone number, ID number or user name, normalized before its length is checked."""

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_IDENTIFIER_LENGTH, **kwargs)

    def to_python(self, value):
        return normalize_identifier(super().to_python(value))


# The `autocomplete` tokens name each field's purpose (WCAG 2.1 1.3.5, GB/T 37668-2019), so
# browsers and assistive technology can fill them in.
class SignUpForm(forms.Form):
    real_name = forms.CharField(
        label=_("Name (as on your ID card)"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=11,
        widget=forms.TextInput(attrs={"autocomplete": "tel-national", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=MAX_PASSWORD_LENGTH,
    )


class SignInForm(forms.Form):
    username = IdentifierField(
        label=_("Mobile phone, ID number or user name"),
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=MAX_PASSWORD_LENGTH,
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Six-digit code from your authenticator app"),
        regex=r"^\d{6}$",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"invalid": _("Enter the six digits shown in your authenticator app.")},
    )


class GrantRoleForm(forms.Form):
    identifier = forms.CharField(label=_("Mobile phone or user name of the person"), max_length=150)
    role = forms.ChoiceField(label=_("Role"))
    covers_subtree = forms.BooleanField(label=_("Also for the units below"), required=False)

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles
