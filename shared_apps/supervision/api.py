"""The portal API of the supervision ledger (电子监察库): summaries and drill-down for the
province's and cities' administrators and supervisors (signed in with a second factor; each sees
only the units they oversee), and the published statistics (办件公示) for everyone."""

from datetime import date
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from ninja.security import django_auth
from pydantic import Field

from govplatform.paging import PageIn, page_of, paged
from shared_apps.audit.actions import record_audit
from shared_apps.supervision import actions, queries
from shared_apps.supervision.models import SupervisionOrder
from shared_apps.supervision.queries import Figures
from tenant_apps.cases import clock
from tenants.models import Tenant

router = Router(tags=["supervision"])
public_router = Router(tags=["statistics"])


class FiguresOut(Schema):
    received: int
    accepted: int
    completed: int
    completed_on_time: int
    yellow: int
    red: int
    online: int
    online_share: float | None = Field(description="online / received (网上办件比率)")
    on_time_rate: float | None = Field(description="completed_on_time / completed")


class UnitOut(Schema):
    code: str
    name: str
    level: str


class SummaryOut(Schema):
    unit: UnitOut
    figures: FiguresOut


class UnitFiguresOut(Schema):
    unit: UnitOut
    figures: FiguresOut


class BreakdownOut(Schema):
    implementation_code: str | None = None
    item_name: str | None = None
    unit_code: str | None = None
    department_id: int | None = None
    department_name: str | None = None
    figures: FiguresOut


class EntryOut(Schema):
    case_number: str
    case_public_id: str
    event: str
    from_state: str
    to_state: str
    at: str
    implementation_code: str
    item_name: str
    department_name: str
    channel: str
    clock_state: str
    flag: str
    due_at: str | None
    on_time: bool | None


class PublishedOut(Schema):
    unit: UnitOut
    received: int
    completed: int
    completed_on_time: int
    on_time_rate: float | None


class PublishedItemOut(Schema):
    implementation_code: str
    item_name: str
    received: int
    completed: int
    completed_on_time: int
    on_time_rate: float | None


def _unit_out(unit: Tenant) -> dict:
    return {"code": unit.code, "name": unit.name, "level": unit.level}


def _overseen(request, code: str | None) -> Tenant:
    """The unit asked for (or the caller's widest), if the caller oversees it; else 403/404."""
    user = request.user
    if not getattr(user, "is_authenticated", False) or not user.is_verified():
        raise HttpError(403, _("Sign in with your second factor to see the supervision ledger."))
    if code:
        unit = get_object_or_404(Tenant, code=code)
    else:
        units = queries.oversight_units(user)
        if not units:
            raise HttpError(403, _("You oversee no unit."))
        unit = units[0]
    if not queries.overseeable(user, unit):
        raise HttpError(403, _("You may not see the supervision figures of this unit."))
    return unit


def _figures(row) -> dict:
    if isinstance(row, Figures):
        return row.as_dict()
    return Figures(**{name: row[name] for name in queries.COUNTS}).as_dict()


UnitCode = Query(None, min_length=12, max_length=12, pattern=r"^\d{12}$")


@router.get(
    "/supervision/summary",
    response=SummaryOut,
    auth=django_auth,
    summary="Supervision summary of a unit and the units below it",
)
def summary(
    request,
    unit: str | None = UnitCode,
    since: date | None = None,
    until: date | None = None,
):
    found = _overseen(request, unit)
    if since or until:
        figures = queries.summary_between(found, since, until)
    else:
        figures = queries.summary(found)
    return {"unit": _unit_out(found), "figures": figures.as_dict()}


@router.get(
    "/supervision/units",
    response=page_of(UnitFiguresOut),
    auth=django_auth,
    summary="The units directly below a unit, with their subtrees' figures",
)
def units(request, paging: Query[PageIn], unit: str | None = UnitCode):
    found = _overseen(request, unit)

    def render(rows):
        figures = queries.figures_of_units(rows)
        return [{"unit": _unit_out(t), "figures": figures[t.pk].as_dict()} for t in rows]

    return paged(queries.units_below(found), paging, render)


@router.get(
    "/supervision/breakdown",
    response=page_of(BreakdownOut),
    auth=django_auth,
    summary="A unit's figures by item or by department",
)
def breakdown(
    request,
    paging: Query[PageIn],
    by: Literal["item", "department"] = Query("item"),
    unit: str | None = UnitCode,
    since: date | None = None,
    until: date | None = None,
):
    found = _overseen(request, unit)
    codes = {}

    def render(rows):
        ids = {row["tenant_id"] for row in rows if "tenant_id" in row}
        codes.update(Tenant.objects.filter(pk__in=ids).values_list("pk", "code"))
        return [
            {
                "implementation_code": row.get("implementation_code"),
                "item_name": row.get("item_name"),
                "unit_code": codes.get(row.get("tenant_id")),
                "department_id": row.get("department_id"),
                "department_name": row.get("department_name"),
                "figures": _figures(row),
            }
            for row in rows
        ]

    return paged(queries.breakdown(found, by, since, until), paging, render)


@router.get(
    "/supervision/units/{code}/entries",
    response=page_of(EntryOut),
    auth=django_auth,
    summary="The ledger entries of one unit (drill-down to its cases)",
)
def entries(
    request,
    paging: Query[PageIn],
    code: str = Path(max_length=12),
    case_number: str = Query("", max_length=50),
    flag: Literal["", "yellow", "red"] = Query(""),
):
    found = _overseen(request, code)
    record_audit(
        actor=request.user,
        action="supervision.entries_read",
        target=case_number or found.code,
        tenant=found,
        data={"flag": flag, "page": paging.page},
        request=request,
    )

    def render(rows):
        return [
            {
                "case_number": row.case_number,
                "case_public_id": str(row.case_public_id),
                "event": row.event,
                "from_state": row.from_state,
                "to_state": row.to_state,
                "at": row.at.isoformat(),
                "implementation_code": row.implementation_code,
                "item_name": row.item_name,
                "department_name": row.department_name,
                "channel": row.channel,
                "clock_state": row.clock_state,
                "flag": row.flag,
                "due_at": row.due_at.isoformat() if row.due_at else None,
                "on_time": row.on_time,
            }
            for row in rows
        ]

    return paged(queries.ledger_entries(found, case_number=case_number, flag=flag), paging, render)


# --- 办件公示: public --------------------------------------------------------------------------


def published_unit_row(row) -> dict:
    return {
        "unit": _unit_out(row.tenant),
        "received": row.received,
        "completed": row.completed,
        "completed_on_time": row.completed_on_time,
        "on_time_rate": Figures(
            completed=row.completed, completed_on_time=row.completed_on_time
        ).on_time_rate,
    }


def published_item_row(row: dict) -> dict:
    return {
        "implementation_code": row["implementation_code"],
        "item_name": row["item_name"],
        "received": row["received"],
        "completed": row["completed"],
        "completed_on_time": row["completed_on_time"],
        "on_time_rate": Figures(
            completed=row["completed"], completed_on_time=row["completed_on_time"]
        ).on_time_rate,
    }


@public_router.get(
    "/statistics/units",
    response=page_of(PublishedOut),
    summary="Published case statistics of the units (办件公示)",
)
def published_units(request, paging: Query[PageIn], parent: str | None = UnitCode):
    within = get_object_or_404(Tenant, code=parent) if parent else None
    return paged(
        queries.published_units(within),
        paging,
        lambda rows: [published_unit_row(row) for row in rows],
    )


@public_router.get(
    "/statistics/units/{code}/items",
    response=page_of(PublishedItemOut),
    summary="Published case statistics of one unit's items (办件公示)",
)
def published_items(request, paging: Query[PageIn], code: str = Path(max_length=12)):
    unit = get_object_or_404(Tenant.objects.exclude(status=Tenant.Status.RETIRED), code=code)
    return paged(
        queries.published_items(unit),
        paging,
        lambda rows: [published_item_row(row) for row in rows],
    )


# --- 督办: supervision orders ------------------------------------------------------------------


class OrderIn(Schema):
    target: str = Field(min_length=12, max_length=12, pattern=r"^\d{12}$")
    issuing_unit: str | None = Field(None, min_length=12, max_length=12, pattern=r"^\d{12}$")
    case_public_id: UUID | None = None
    reason: str = Field(min_length=1, max_length=1000)
    required_action: str = Field(min_length=1, max_length=1000)
    deadline: date | None = Field(None, description="a date, or give working_days")
    working_days: int | None = Field(None, ge=1, le=60, description="working days from today")
    request_key: UUID | None = Field(
        None, description="the same key again returns the order already issued (no second one)"
    )


class StepIn(Schema):
    text: str = Field("", max_length=1000)


class StepOut(Schema):
    kind: str
    by: str
    unit: str
    at: str
    text: str


class OrderOut(Schema):
    id: int
    issuing_unit: UnitOut
    target_unit: UnitOut
    case_public_id: str | None
    case_number: str
    reason: str
    required_action: str
    deadline: date
    state: str
    overdue: bool
    issued_at: str
    steps: list[StepOut]


def order_out(order: SupervisionOrder, *, steps: bool = True) -> dict:
    return {
        "id": order.pk,
        "issuing_unit": _unit_out(order.issuing_unit),
        "target_unit": _unit_out(order.target_unit),
        "case_public_id": str(order.case_public_id) if order.case_public_id else None,
        "case_number": order.case_number,
        "reason": order.reason,
        "required_action": order.required_action,
        "deadline": order.deadline,
        "state": order.state,
        "overdue": order.overdue,
        "issued_at": order.issued_at.isoformat(),
        "steps": [
            {
                "kind": step.kind,
                "by": step.by.get_username(),
                "unit": step.unit.code,
                "at": step.at.isoformat(),
                "text": step.text,
            }
            for step in (order.steps.select_related("by", "unit") if steps else [])
        ],
    }


def _readable_order(request, order_id: int) -> SupervisionOrder:
    """The order, if the caller may read it; 404 otherwise (another unit's order is not found)."""
    _overseen(request, None)
    order = get_object_or_404(
        SupervisionOrder.objects.select_related("issuing_unit", "target_unit"), pk=order_id
    )
    if not queries.reads_order(request.user, order):
        raise Http404
    return order


def deadline_of(deadline: date | None, working_days: int | None) -> date:
    """A date given, or the working days from today (the cases' calendar, chinesecalendar)."""
    if working_days:
        return clock.add_working_days(timezone.localdate(), working_days)
    if deadline is None:
        raise DjangoValidationError({"deadline": [_("Give a deadline or working days.")]})
    return deadline


@router.get(
    "/supervision/orders",
    response=page_of(OrderOut),
    auth=django_auth,
    summary="Supervision orders (督办) a unit received or issued",
)
def orders(request, paging: Query[PageIn], unit: str | None = UnitCode):
    found = _overseen(request, unit)
    return paged(
        queries.orders_of(found),
        paging,
        lambda rows: [order_out(row, steps=False) for row in rows],
    )


@router.post(
    "/supervision/orders",
    response={201: OrderOut},
    auth=django_auth,
    summary="Issue a supervision order (督办) to a unit below",
)
def issue(request, data: OrderIn):
    issuing = _overseen(request, data.issuing_unit)
    target = get_object_or_404(Tenant, code=data.target)
    if not queries.is_below(target, issuing) or target.pk == issuing.pk:
        raise Http404
    order = actions.issue_order(
        actor=request.user,
        issuing_unit=issuing,
        target_unit=target,
        reason=data.reason,
        required_action=data.required_action,
        deadline=deadline_of(data.deadline, data.working_days),
        case_public_id=data.case_public_id,
        request_key=data.request_key,
        request=request,
    )
    return Status(201, order_out(order))


@router.get(
    "/supervision/orders/{order_id}",
    response=OrderOut,
    auth=django_auth,
    summary="One supervision order with its steps",
)
def order(request, order_id: int):
    return order_out(_readable_order(request, order_id))


def _intent(name: str, step, summary: str):
    @router.post(
        f"/supervision/orders/{{order_id}}/{name}",
        response=OrderOut,
        auth=django_auth,
        summary=summary,
        operation_id=f"supervision_order_{name}",
    )
    def intent(request, order_id: int, data: StepIn):
        found = _readable_order(request, order_id)
        return order_out(step(found, actor=request.user, text=data.text, request=request))

    return intent


acknowledge = _intent("acknowledge", actions.acknowledge_order, "The target acknowledges (签收)")
report = _intent("report", actions.report_order, "The target reports its correction (整改反馈)")
close = _intent("close", actions.close_order, "The issuer closes the order")
reopen = _intent("reopen", actions.reopen_order, "The issuer returns the order (退回)")
