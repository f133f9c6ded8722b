"""The forms of the staff workbench (工作台): the queue filters, one form per intent on the case
page, and hall-window registration (一窗受理). They only check the shape of what was typed (lengths,
choices, numbers); the actions check everything else and their errors are put back on the form."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenant_apps.cases import actions, queries
from tenant_apps.cases.models import Decision, Delivery

TEXT_MAX = 2000
CORRECTION_MAX = 500
CORRECTIONS_MAX = 50
SUSPENSION_GROUND_LABELS = {
    "hearing": _("Hearing"),
    "tendering": _("Tendering or auction"),
    "testing": _("Inspection, testing or quarantine"),
    "appraisal": _("Appraisal"),
    "expert_review": _("Expert review"),
}


def _textarea(rows=3):
    return forms.Textarea(attrs={"rows": rows})


class QueueFilterForm(forms.Form):
    queue = forms.ChoiceField(required=False)
    item = forms.TypedChoiceField(label=_("Item"), required=False, coerce=int, empty_value=None)
    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None
    )
    q = forms.CharField(
        label=_("Case number, ID number or applicant's name"),
        required=False,
        max_length=queries.SEARCH_MAX,
    )

    def __init__(self, data, *, items, departments):
        super().__init__(data)
        self.fields["queue"].choices = [
            (name, name) for name in (*queries.WORKBENCH_QUEUES, queries.ALL)
        ]
        self.fields["item"].choices = [("", _("All items")), *items]
        self.fields["department"].choices = [("", _("All departments")), *departments]


class IntentForm(forms.Form):
    """A form of the case page: the idempotency key generated when the page was rendered makes a
    second submission of the same form (a double click, a resent request) a no-op."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, intent: str, **kwargs):
        kwargs.setdefault("auto_id", f"id_{intent}_%s")
        if not args or args[0] is None:
            kwargs.setdefault("initial", {})["idempotency_key"] = uuid.uuid4()
        super().__init__(*args, **kwargs)
        self.intent = intent

    def arguments(self) -> dict:
        """The keyword arguments of the action."""
        return {}


class RejectForm(IntentForm):
    reasons = forms.CharField(label=_("Reasons"), max_length=TEXT_MAX, widget=_textarea())

    def arguments(self):
        return {"reasons": self.cleaned_data["reasons"]}


class CorrectionsForm(IntentForm):
    items = forms.CharField(
        label=_("What to correct or supply (one per line)"),
        max_length=CORRECTIONS_MAX * (CORRECTION_MAX + 1),
        widget=_textarea(5),
    )

    def clean_items(self):
        items = [line.strip() for line in self.cleaned_data["items"].splitlines() if line.strip()]
        if not 1 <= len(items) <= CORRECTIONS_MAX:
            raise ValidationError(
                _("List between 1 and %(count)s things to correct.") % {"count": CORRECTIONS_MAX}
            )
        if any(len(item) > CORRECTION_MAX for item in items):
            raise ValidationError(
                _("Each line has at most %(count)s characters.") % {"count": CORRECTION_MAX}
            )
        return items

    def arguments(self):
        return {"items": self.cleaned_data["items"]}


class DecideForm(IntentForm):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices)
    reasons = forms.CharField(
        label=_("Reasons (required for a refusal)"),
        max_length=TEXT_MAX,
        required=False,
        widget=_textarea(),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis of the decision"), max_length=TEXT_MAX, widget=_textarea(2)
    )

    def arguments(self):
        return {key: self.cleaned_data[key] for key in ("decision", "reasons", "legal_basis")}


class DeliverForm(IntentForm):
    method = forms.ChoiceField(label=_("How the result is delivered"), choices=Delivery.choices)
    details = forms.CharField(
        label=_("Address or tracking number (post)"), max_length=300, required=False
    )

    def arguments(self):
        return {key: self.cleaned_data[key] for key in ("method", "details")}


class SuspendForm(IntentForm):
    ground = forms.ChoiceField(
        label=_("Ground (§45)"),
        choices=[(key, SUSPENSION_GROUND_LABELS[key]) for key in actions.SUSPENSION_GROUNDS],
    )
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, widget=_textarea(2))

    def arguments(self):
        return {key: self.cleaned_data[key] for key in ("ground", "reason")}


class ResumeForm(IntentForm):
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_MAX, required=False, widget=_textarea(2)
    )

    def arguments(self):
        return {"reason": self.cleaned_data["reason"]}


class ExtendForm(IntentForm):
    days = forms.IntegerField(
        label=_("Working days"),
        min_value=1,
        max_value=actions.MAX_EXTENSION_DAYS,
        initial=actions.EXTENSION_DAYS,
    )
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, widget=_textarea(2))
    legal_basis = forms.CharField(
        label=_("Legal basis (required beyond 10 days)"),
        max_length=TEXT_MAX,
        required=False,
        widget=_textarea(2),
    )

    def arguments(self):
        return {key: self.cleaned_data[key] for key in ("days", "reason", "legal_basis")}


class ReasonRequiredForm(IntentForm):
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, widget=_textarea(2))

    def arguments(self):
        return {"reason": self.cleaned_data["reason"]}


# The intents staff take on the case page, with their forms and actions. Filing intents
# (save_draft, submit, resubmit, withdraw) are the applicant's, or the hall window's.
INTENT_FORMS = {
    "accept": (IntentForm, actions.accept),
    "reject": (RejectForm, actions.reject),
    "request_corrections": (CorrectionsForm, actions.request_corrections),
    "start_review": (IntentForm, actions.start_review),
    "decide": (DecideForm, actions.decide),
    "suspend": (SuspendForm, actions.suspend),
    "resume": (ResumeForm, actions.resume),
    "extend": (ExtendForm, actions.extend),
    "deliver": (DeliverForm, actions.deliver),
    "close": (IntentForm, actions.close),
    # Across levels (shared_apps.handoffs)
    "forward": (IntentForm, actions.forward),
    "escalate": (ReasonRequiredForm, actions.escalate),
    "return": (ReasonRequiredForm, actions.return_case),
}


# --- hall window (一窗受理) ------------------------------------------------------------------


class FindCitizenForm(forms.Form):
    id_number = forms.CharField(label=_("Resident ID number"), max_length=40)


UPLOAD_ACCEPT = ".pdf,.jpg,.jpeg,.png,.ofd,.docx,.xlsx"
SIMPLE_TYPES = ("string", "number", "integer", "boolean")


def _file_field(label: str) -> forms.FileField:
    """A scanned material: checked on its content by the actions (attach_file), not here."""
    return forms.FileField(
        label=label,
        required=False,
        allow_empty_file=True,  # attach_file says why, in the uploads' words
        widget=forms.FileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )


def _schema_data(schema: dict, cleaned_data: dict) -> dict:
    properties = (schema or {}).get("properties") or {}
    data = {}
    for key, value in cleaned_data.items():
        if not key.startswith("form-") or value in (None, ""):
            continue
        name = key.removeprefix("form-")
        # A choice comes back as text: give the schema's own value (a number stays one).
        choices = (properties.get(name) or {}).get("enum")
        if choices:
            value = next((choice for choice in choices if str(choice) == value), value)
        data[name] = value
    return data


class UploadsMixin:
    """File inputs (`file-<guide material id>`) for the materials to be scanned and uploaded."""

    def add_uploads(self, uploads):
        for material_id, label in uploads:
            self.fields[f"file-{material_id}"] = _file_field(label)

    def upload_ids(self) -> list[int]:
        return [int(name.removeprefix("file-")) for name in self.fields if name.startswith("file-")]


class WindowForm(UploadsMixin, forms.Form):
    """The application itself: the item, its form's fields (from the item's JSON Schema, named
    `form-<property>`), the materials handed in that the guide lets be filled as a form section
    (ticked), and the scans of those that must be uploaded (`file-<material id>`)."""

    id_number = forms.CharField(widget=forms.HiddenInput, max_length=40)
    implementation = forms.TypedChoiceField(label=_("Item"), coerce=int)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    accept_now = forms.BooleanField(label=_("Accept at once (受理)"), required=False)

    def __init__(
        self,
        data=None,
        files=None,
        *,
        implementations,
        schema=None,
        sections=(),
        uploads=(),
        **kwargs,
    ):
        super().__init__(data, files, **kwargs)
        self.fields["implementation"].choices = [("", "—"), *implementations]
        self.schema = schema or {}
        required = list(self.schema.get("required", ()))
        properties = self.schema.get("properties") or {}
        # A schema stored as jsonb has lost its key order: required fields first, as listed.
        names = [n for n in required if n in properties]
        names += sorted(set(properties) - set(names))
        for name in names:
            self.fields[f"form-{name}"] = _schema_field(name, properties[name], name in required)
        for material_id, label in sections:
            self.fields[f"material-{material_id}"] = forms.BooleanField(label=label, required=False)
        self.add_uploads(uploads)
        self.order_fields([name for name in self.fields if name != "accept_now"])

    def form_data(self) -> dict:
        return _schema_data(self.schema, self.cleaned_data)

    def material_ids(self) -> list[int]:
        return [
            int(key.removeprefix("material-"))
            for key, value in self.cleaned_data.items()
            if key.startswith("material-") and value
        ]


def _schema_field(name: str, spec: dict, required: bool) -> forms.Field:
    """A form field for one property of the item's JSON Schema (strings, numbers, integers,
    booleans and enums; the actions check the value against the schema itself)."""
    label = spec.get("title") or name
    kind = spec.get("type")
    if "enum" in spec:
        return forms.ChoiceField(
            label=label,
            required=required,
            choices=[("", "—"), *((value, value) for value in spec["enum"])],
        )
    if kind == "integer":
        return forms.IntegerField(label=label, required=required)
    if kind == "number":
        return forms.FloatField(label=label, required=required)
    if kind == "boolean":
        return forms.BooleanField(label=label, required=False)
    return forms.CharField(
        label=label,
        required=required,
        max_length=min(int(spec.get("maxLength", TEXT_MAX)), TEXT_MAX),
    )


class ResubmitForm(UploadsMixin, IntentForm):
    """Corrections brought to the window (补正): the window clerk resubmits them for the applicant,
    with the form's answers as corrected (the simple fields of the item's JSON Schema, filled in
    with the case's answers; other answers stay as they are) and a scan of each material to
    replace (`file-<material id>`; a material without a new file stays as given)."""

    def __init__(self, *args, schema=None, answers=None, uploads=(), **kwargs):
        super().__init__(*args, intent="resubmit", **kwargs)
        self.schema = schema or {}
        self.answers = dict(answers or {})
        required = list(self.schema.get("required", ()))
        properties = self.schema.get("properties") or {}
        names = [n for n in required if n in properties]
        names += sorted(set(properties) - set(names))
        for name in names:
            spec = properties[name]
            if "enum" not in spec and spec.get("type") not in SIMPLE_TYPES:
                continue
            field = _schema_field(name, spec, name in required)
            field.initial = self.answers.get(name)
            self.fields[f"form-{name}"] = field
        self.add_uploads(uploads)

    def form_data(self) -> dict:
        data = {
            key: value for key, value in self.answers.items() if f"form-{key}" not in self.fields
        }
        data.update(_schema_data(self.schema, self.cleaned_data))
        return data


class TaskOpinionForm(IntentForm):
    """A department's opinion on its parallel review task (会签意见)."""

    decision = forms.ChoiceField(
        label=_("Opinion"),
        choices=[("approved", _("Approve")), ("refused", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    opinion = forms.CharField(
        label=_("Opinion and reasons"), max_length=TEXT_MAX, widget=_textarea()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, intent="opinion", **kwargs)

    def arguments(self):
        return {
            "decision": self.cleaned_data["decision"],
            "opinion": self.cleaned_data["opinion"],
        }
