"""The oversight pages (监管): a unit and the units below it at a glance, drill-down unit by unit
to a township and to a case's ledger history, early warnings (预警纠错) and supervision orders
(督办), for administrators and supervisors.

Where: on the portal the pages look from the widest unit the person oversees (the province for
provincial people); on a unit's subdomain from that unit. Every unit, case or order asked for
must lie in that scope and be overseen by the person, or it is not found (404), whatever the
host, path or id. Everything shown comes from `public` (the ledger, its counters, the orders):
no unit's schema is read."""

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from govplatform.paging import page_for
from shared_apps.accounts import authz
from shared_apps.supervision import actions, queries
from shared_apps.supervision.forms import IssueForm, StepForm
from shared_apps.supervision.models import SupervisionOrder, SupervisionStep
from tenant_apps.cases import clock
from tenant_apps.cases.models import ClockState, State
from tenants.links import tenant_url
from tenants.models import Tenant

# A unit is flagged when it has red cases, or when this share of its received cases went yellow.
YELLOW_SHARE_WARNING = 0.1
STEPS = {
    "acknowledge": actions.acknowledge_order,
    "report": actions.report_order,
    "close": actions.close_order,
    "reopen": actions.reopen_order,
}


def _scope(request) -> Tenant:
    """The unit the pages look from, if the signed-in person (second factor) oversees it."""
    user = request.user
    if not user.is_verified():
        raise PermissionDenied
    if isinstance(request.tenant, Tenant):
        unit = request.tenant
    else:
        units = queries.oversight_units(user)
        if not units:
            raise PermissionDenied
        unit = units[0]
    if not queries.overseeable(user, unit):
        raise PermissionDenied
    return unit


def _within(request, scope: Tenant, unit: Tenant) -> None:
    if not queries.is_below(unit, scope) or not queries.overseeable(request.user, unit):
        raise Http404


def _path(scope: Tenant, unit: Tenant) -> list[Tenant]:
    """The units from the scope down to `unit` (the drill-down's breadcrumbs)."""
    codes = [c for c in authz.ancestor_codes(unit.code) if queries.is_below_code(c, scope)]
    above = {t.code: t for t in Tenant.objects.filter(code__in=codes)}
    return [above[c] for c in codes if c in above] + [unit]


def _warning(figures) -> str:
    if figures.red:
        return "red"
    if figures.received and figures.yellow / figures.received >= YELLOW_SHARE_WARNING:
        return "yellow"
    return ""


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _issue_form(scope: Tenant, unit: Tenant, **initial) -> IssueForm | None:
    """The one-step order form, where the scope is above the unit (a unit can't order itself)."""
    if unit.pk == scope.pk:
        return None
    key = initial.get("case") or unit.code
    return IssueForm(
        initial={"target": unit.code, "working_days": 5, "key": uuid.uuid4(), **initial},
        auto_id=f"order-{key}-%s",
    )


@login_required
@never_cache
def home(request):
    scope = _scope(request)
    return _unit_page(request, scope, scope)


@login_required
@never_cache
def unit_page(request, code: str):
    scope = _scope(request)
    unit = get_object_or_404(Tenant, code=code)
    _within(request, scope, unit)
    return _unit_page(request, scope, unit)


def _unit_page(request, scope: Tenant, unit: Tenant):
    children = list(queries.units_below(unit))
    figures = queries.figures_of_units(children)
    rows = []
    for child in children:
        own = figures[child.pk]
        rows.append(
            {
                "unit": child,
                "figures": own,
                "warning": _warning(own),
                "on_time": _percent(own.on_time_rate),
                "online": _percent(own.online_share),
                "url": reverse("oversight-unit", args=[child.code]),
            }
        )
    # The worst first: red cases, then the share gone yellow, then the lowest on-time rate.
    rows.sort(
        key=lambda r: (
            -r["figures"].red,
            -(r["figures"].yellow / r["figures"].received if r["figures"].received else 0),
            r["figures"].on_time_rate if r["figures"].on_time_rate is not None else 1,
            r["unit"].code,
        )
    )
    total = queries.summary(unit)
    red = list(queries.flagged_cases(unit, "red")[:50])
    yellow = list(queries.flagged_cases(unit, "yellow")[:50])
    for case in red + yellow:
        case.form = _issue_form(
            scope,
            unit,
            case=case.case_public_id,
            reason=_("Case %(number)s is %(flag)s.")
            % {"number": case.case_number, "flag": _("red") if case.flag == "red" else _("yellow")},
        )
    overdue = list(queries.overdue_orders_below(unit)[:50])
    return render(
        request,
        "supervision/oversight_unit.html",
        {
            "scope": scope,
            "unit": unit,
            "path": _path(scope, unit),
            "total": total,
            "total_on_time": _percent(total.on_time_rate),
            "total_online": _percent(total.online_share),
            "page": page_for(request, rows),
            "red": red,
            "yellow": yellow,
            "overdue": overdue,
            "issue_form": _issue_form(scope, unit),
        },
    )


@login_required
@never_cache
def case_page(request, public_id: uuid.UUID):
    """A case seen from above: its ledger history only (states, times, clock, flags)."""
    scope = _scope(request)
    latest = queries.latest_entry(public_id)
    if latest is None:
        raise Http404
    unit = latest.tenant
    _within(request, scope, unit)
    history = list(queries.case_history(public_id))
    states, clocks = dict(State.choices), dict(ClockState.choices)
    for entry in [*history, latest]:
        entry.state_label = states.get(entry.to_state, entry.to_state)
        entry.clock_label = clocks.get(entry.clock_state, entry.clock_state)
    workbench = None
    if authz.roles_in(request.user, unit):
        workbench = tenant_url(unit, f"/workbench/cases/{public_id}", request)
    return render(
        request,
        "supervision/oversight_case.html",
        {
            "scope": scope,
            "unit": unit,
            "path": _path(scope, unit),
            "latest": latest,
            "history": history,
            "workbench": workbench,
            "issue_form": _issue_form(
                scope,
                unit,
                case=public_id,
                reason=_("Case %(number)s needs attention.") % {"number": latest.case_number},
            ),
            "orders": SupervisionOrder.objects.filter(case_public_id=public_id)
            .select_related("issuing_unit", "target_unit")
            .order_by("-issued_at"),
        },
    )


@login_required
@never_cache
def orders(request):
    scope = _scope(request)
    return render(
        request,
        "supervision/oversight_orders.html",
        {"scope": scope, "page": page_for(request, queries.orders_of(scope))},
    )


def _deadline(data) -> date:
    if data.get("working_days"):
        return clock.add_working_days(timezone.localdate(), data["working_days"])
    return data["deadline"]


@login_required
@require_POST
def issue(request):
    scope = _scope(request)
    form = IssueForm(request.POST)
    if not form.is_valid():
        return render(
            request, "supervision/oversight_issue.html", {"scope": scope, "form": form}, status=400
        )
    target = get_object_or_404(Tenant, code=form.cleaned_data["target"])
    _within(request, scope, target)
    try:
        order = actions.issue_order(
            actor=request.user,
            issuing_unit=scope,
            target_unit=target,
            reason=form.cleaned_data["reason"],
            required_action=form.cleaned_data["required_action"],
            deadline=_deadline(form.cleaned_data),
            case_public_id=form.cleaned_data["case"],
            request_key=form.cleaned_data["key"],
            request=request,
        )
    except ValidationError as error:
        for message in error.messages:
            form.add_error(None, message)
        return render(
            request, "supervision/oversight_issue.html", {"scope": scope, "form": form}, status=400
        )
    messages.success(request, _("The supervision order was issued."))
    return redirect("oversight-order", order_id=order.pk)


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def order_page(request, order_id: int):
    scope = _scope(request)
    order = get_object_or_404(
        SupervisionOrder.objects.select_related("issuing_unit", "target_unit"), pk=order_id
    )
    # Seen from this host: an order to or from a unit in the scope, that this person may read.
    in_scope = queries.is_below(order.target_unit, scope) or order.issuing_unit_id == scope.pk
    if not in_scope or not queries.reads_order(request.user, order):
        raise Http404
    form = StepForm(request.POST or None)
    if request.method == "POST":
        step = STEPS.get(request.POST.get("intent", ""))
        if step is None:
            raise Http404
        if form.is_valid():
            try:
                step(order, actor=request.user, text=form.cleaned_data["text"], request=request)
            except (PermissionDenied, ValidationError) as error:
                messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            return redirect("oversight-order", order_id=order.pk)
    answers = queries.answers(request.user, order)
    closes = queries.closes(request.user, order)
    State = SupervisionOrder.State
    intents = []
    if answers and order.state == State.ISSUED:
        intents.append(("acknowledge", _("Acknowledge")))
    if answers and order.state in (State.ISSUED, State.ACKNOWLEDGED, State.RETURNED):
        intents.append(("report", _("Report the correction")))
    if closes and order.state == State.REPORTED:
        intents.append(("close", _("Close")))
    if closes and order.state in (State.REPORTED, State.CLOSED):
        intents.append(("reopen", _("Return for more correction")))
    case_url = None
    if order.case_public_id and queries.overseeable(request.user, order.target_unit):
        case_url = reverse("oversight-case", args=[order.case_public_id])
    return render(
        request,
        "supervision/oversight_order.html",
        {
            "scope": scope,
            "order": order,
            "steps": order.steps.select_related("by", "unit"),
            "form": form,
            "intents": intents,
            "case_url": case_url,
            "kinds": SupervisionStep.Kind,
        },
    )
