from django import forms
from django.utils.translation import gettext_lazy as _

from shared_apps.catalog.models import OnlineDepth


class ImplementForm(forms.Form):
    item_code = forms.CharField(label=_("Basic code"), max_length=12)
    department_id = forms.TypedChoiceField(label=_("Department"), coerce=int)
    promised_days = forms.IntegerField(
        label=_("Promised time limit (working days)"),
        min_value=0,
        help_text=_("0: a same-day item, decided on acceptance."),
    )
    place = forms.CharField(label=_("Place"), max_length=300)
    hours = forms.CharField(label=_("Hours"), max_length=200)
    enquiry_phone = forms.CharField(label=_("Enquiry phone"), max_length=40)
    complaint_phone = forms.CharField(label=_("Complaint phone"), max_length=40)
    online_depth = forms.TypedChoiceField(
        label=_("Online depth"), choices=OnlineDepth.choices, coerce=int
    )
    window = forms.CharField(label=_("Window"), max_length=100, required=False)

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department_id"].choices = [(d.id, d.name) for d in departments]
