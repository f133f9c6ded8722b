"""Reads of the supervision ledger: summaries of a unit's subtree (the province, a city, a county
or one township) from the counters the relay keeps, breakdowns by item or department, a unit's
ledger entries, and the published statistics (办件公示). Every read is one statement on `public`;
none visits a unit's schema.

Who may read: `overseeable(user, unit)`: a superuser, or someone holding the administrator or
supervisor role in the unit itself or (covering the units below) in a unit above it: a city's
administrator sees the city's units and no other city's; a county's supervisor only the county's.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from shared_apps.accounts import authz
from shared_apps.accounts.models import Role, StaffMembership
from shared_apps.supervision.models import COUNTS, DailyCount, LedgerEntry, TenantCount
from tenants.divisions.codes import LEVEL_ORDER, SIGNIFICANT_DIGITS
from tenants.models import Tenant

OVERSIGHT_ROLES = (Role.TENANT_ADMIN, Role.SUPERVISOR)
# The counters' column that holds a unit's code for every unit in its subtree.
SCOPE_COLUMN = {"province": "province_code", "city": "city_code", "county": "county_code"}


@dataclass
class Figures:
    received: int = 0
    accepted: int = 0
    completed: int = 0
    completed_on_time: int = 0
    yellow: int = 0
    red: int = 0
    online: int = 0

    @property
    def online_share(self) -> float | None:
        """网上办件比率: the share of the cases received that were filed online."""
        return round(self.online / self.received, 4) if self.received else None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.completed_on_time / self.completed, 4) if self.completed else None

    def as_dict(self) -> dict:
        return {
            **{name: getattr(self, name) for name in COUNTS},
            "online_share": self.online_share,
            "on_time_rate": self.on_time_rate,
        }


def _sums() -> dict:
    return {name: Coalesce(Sum(name), 0) for name in COUNTS}


def in_subtree(unit: Tenant) -> Q:
    """The counters' rows of `unit` and every unit below it."""
    column = SCOPE_COLUMN.get(unit.level)
    if column is None:  # a township has no units below
        return Q(tenant_id=unit.pk)
    return Q(**{column: unit.code})


def overseeable(user, unit: Tenant) -> bool:
    return authz.has_role(user, unit, *OVERSIGHT_ROLES)


def oversight_units(user) -> list[Tenant]:
    """The widest units `user` oversees (for a default view): the province for a superuser."""
    if getattr(user, "is_superuser", False):
        return list(Tenant.objects.filter(level=Tenant.Level.PROVINCE).order_by("code")[:1])
    held = (
        StaffMembership.objects.filter(user=user, is_active=True, role__in=OVERSIGHT_ROLES)
        .select_related("tenant")
        .order_by("tenant__code")
    )
    units = {m.tenant.code: m.tenant for m in held}
    return sorted(units.values(), key=lambda t: (LEVEL_ORDER.index(t.level), t.code))


def summary(unit: Tenant) -> Figures:
    """The unit's subtree since the ledger began: one sum over the per-unit counters."""
    column = SCOPE_COLUMN.get(unit.level)
    rows = TenantCount.objects.all()
    rows = rows.filter(**{column: unit.code}) if column else rows.filter(tenant_id=unit.pk)
    return Figures(**rows.aggregate(**_sums()))


def summary_between(unit: Tenant, since: date | None, until: date | None) -> Figures:
    rows = DailyCount.objects.filter(in_subtree(unit))
    if since:
        rows = rows.filter(day__gte=since)
    if until:
        rows = rows.filter(day__lte=until)
    return Figures(**rows.aggregate(**_sums()))


def units_below(unit: Tenant):
    """The units directly below `unit` (their figures: `figures_of_units`, a page at a time)."""
    return Tenant.objects.filter(parent=unit).exclude(status=Tenant.Status.RETIRED).order_by("code")


def figures_of_units(units: list[Tenant]) -> dict[int, Figures]:
    """The subtree figures of each of `units` (one query per level present, on the counters)."""
    result = {unit.pk: Figures() for unit in units}
    by_level: dict[str, list[Tenant]] = {}
    for unit in units:
        by_level.setdefault(unit.level, []).append(unit)
    for level, group in by_level.items():
        column = SCOPE_COLUMN.get(level)
        if column is None:
            rows = TenantCount.objects.filter(tenant_id__in=[u.pk for u in group]).values(
                key=F("tenant_id")
            )
            keyed = {u.pk: u.pk for u in group}
        else:
            rows = TenantCount.objects.filter(**{f"{column}__in": [u.code for u in group]}).values(
                key=F(column)
            )
            keyed = {u.code: u.pk for u in group}
        for row in rows.annotate(**_sums()).order_by():
            key = row.pop("key")
            result[keyed[key]] = Figures(**row)
    return result


def breakdown(unit: Tenant, by: str, since: date | None = None, until: date | None = None):
    """The unit's subtree by item (`by="item"`) or by unit and department (`"department"`):
    a query set of dicts with the counts, biggest first."""
    rows = DailyCount.objects.filter(in_subtree(unit))
    if since:
        rows = rows.filter(day__gte=since)
    if until:
        rows = rows.filter(day__lte=until)
    if by == "item":
        keys = ["implementation_code", "item_name"]
    else:
        keys = ["tenant_id", "tenant__name", "department_id", "department_name"]
    return rows.values(*keys).annotate(**_sums()).order_by("-received", *keys)


def ledger_entries(unit: Tenant, *, case_number: str = "", flag: str = ""):
    """The ledger entries of one unit (not its subtree), newest first."""
    rows = LedgerEntry.objects.filter(tenant=unit)
    if case_number:
        rows = rows.filter(case_number=case_number)
    if flag:
        rows = rows.filter(flag=flag)
    return rows.order_by("-at", "-id")


def published_units(parent: Tenant | None = None):
    """办件公示 of units: their own counts (no personal data), busiest first."""
    rows = TenantCount.objects.select_related("tenant").exclude(
        tenant__status=Tenant.Status.RETIRED
    )
    if parent is not None:
        rows = rows.filter(in_subtree(parent))
    return rows.order_by("-received", "tenant__code")


def published_items(unit: Tenant):
    """办件公示 of one unit's items: received, completed and on time, per implementation."""
    return (
        DailyCount.objects.filter(tenant=unit)
        .values("implementation_code", "item_name")
        .annotate(**_sums())
        .order_by("-received", "implementation_code")
    )


# --- oversight pages and supervision orders (督办) ---------------------------------------------

# A case's clock is still to be watched while it runs or is paused (not once stopped).
OPEN_CLOCK = ("running", "paused", "not_started")


def is_below(unit: Tenant, above: Tenant) -> bool:
    """`unit` is `above` or lies in its subtree (from the codes alone)."""
    return unit.pk == above.pk or above.code in authz.ancestor_codes(unit.code)


def is_below_code(code: str, above: Tenant) -> bool:
    return code == above.code or above.code in authz.ancestor_codes(code)


def latest_entry(case_public_id) -> LedgerEntry | None:
    return (
        LedgerEntry.objects.filter(case_public_id=case_public_id)
        .select_related("tenant")
        .order_by("-at", "-id")
        .first()
    )


def case_history(case_public_id):
    """The ledger entries of one case, oldest first."""
    return LedgerEntry.objects.filter(case_public_id=case_public_id).order_by("at", "id")


def flagged_cases(unit: Tenant, flag: str):
    """The unit's own cases whose latest ledger entry is flagged `flag` ("red" or "yellow") with
    the clock not stopped. Only cases the deadline job ever marked can be (a partial index finds
    them); their latest entries come through the per-case index, in `public` only."""
    marked = LedgerEntry.objects.filter(
        tenant=unit, event__in=["deadline.yellow", "deadline.red"]
    ).values("case_public_id")
    latest = (
        LedgerEntry.objects.filter(case_public_id__in=marked)
        .order_by("case_public_id", "-at", "-id")
        .distinct("case_public_id")
        .values("id")
    )
    return LedgerEntry.objects.filter(
        id__in=latest, flag=flag, clock_state__in=OPEN_CLOCK
    ).order_by("due_at", "id")


def order_people(unit: Tenant):
    """The unit's own administrators and supervisors: whom its orders are for."""
    from shared_apps.accounts.models import User

    return User.objects.filter(
        is_active=True,
        memberships__tenant=unit,
        memberships__is_active=True,
        memberships__role__in=OVERSIGHT_ROLES,
    ).distinct()


def answers(user, order) -> bool:
    """Acknowledge and report: a role held in the target unit itself (not from above)."""
    return StaffMembership.objects.filter(
        user=user, tenant_id=order.target_unit_id, is_active=True, role__in=OVERSIGHT_ROLES
    ).exists()


def closes(user, order) -> bool:
    """Close and return: the issuing unit's people (who oversee it)."""
    return overseeable(user, order.issuing_unit)


def reads_order(user, order) -> bool:
    return closes(user, order) or answers(user, order) or overseeable(user, order.target_unit)


def orders_of(unit: Tenant):
    """The orders `unit` received or issued, newest first."""
    from shared_apps.supervision.models import SupervisionOrder

    return (
        SupervisionOrder.objects.filter(Q(target_unit=unit) | Q(issuing_unit=unit))
        .select_related("issuing_unit", "target_unit")
        .order_by("-issued_at", "-id")
    )


def overdue_orders_below(unit: Tenant):
    """Overdue open orders to `unit` or any unit below it (预警)."""
    from shared_apps.supervision.models import SupervisionOrder

    column = SCOPE_COLUMN.get(unit.level)
    rows = SupervisionOrder.objects.filter(overdue=True).exclude(
        state__in=[SupervisionOrder.State.REPORTED, SupervisionOrder.State.CLOSED]
    )
    if column:
        prefix = unit.code[: SIGNIFICANT_DIGITS[unit.level]]
        rows = rows.filter(target_unit__code__startswith=prefix)
    else:
        rows = rows.filter(target_unit=unit)
    return rows.select_related("issuing_unit", "target_unit").order_by("deadline", "id")
