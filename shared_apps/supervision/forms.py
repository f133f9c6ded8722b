"""The oversight pages' forms: issuing a supervision order (督办) and one step of it. Django's
CharField refuses NUL characters; every text is bounded as in the model."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shared_apps.supervision.actions import MAX_TEXT


class IssueForm(forms.Form):
    target = forms.RegexField(regex=r"^\d{12}$", widget=forms.HiddenInput)
    case = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # Made when the page is rendered: the same form sent twice issues one order.
    key = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )
    required_action = forms.CharField(
        label=_("Required action"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )
    working_days = forms.IntegerField(
        label=_("Deadline in working days"), min_value=1, max_value=60, required=False
    )
    deadline = forms.DateField(
        label=_("or a deadline date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("working_days") and not data.get("deadline"):
            raise ValidationError(_("Give a deadline or working days."))
        return data


class StepForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
