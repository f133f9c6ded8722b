"""Routing a citizen to the unit that handles an item for a place (DESIGN.md §4): the lowest level
that has the item published in its implementation list. From the place, first the place itself;
then, when the place is above the level that handles the item (a county, or an ID number's county,
for a township item), the units below it that have it, for the citizen to choose (or the remembered
place, when it lies among them); then walking up from the place. One query for the lists.

A place is a division code or a name (tenants.places); a name several units share gives the
candidates instead of a route."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shared_apps.accounts.identity import normalize_id_number
from shared_apps.catalog.models import Implementation
from tenants import places
from tenants.divisions.codes import SIGNIFICANT_DIGITS, level_of_code
from tenants.hosts import host_map
from tenants.models import Tenant
from tenants.places import Place

ROUTABLE = (Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED)


@dataclass
class Choice:
    """A unit below the place that has the item; when it is suspended, the unit to turn to."""

    implementation: Implementation
    path: str
    turn_to: Tenant | None = None

    @property
    def unit(self) -> Tenant:
        return self.implementation.tenant

    @property
    def suspended(self) -> bool:
        return self.unit.status == Tenant.Status.SUSPENDED


@dataclass
class Route:
    # A partial record: its id, code and unit (what linking to the guide page needs).
    implementation: Implementation | None
    place_code: str
    reason: str = ""
    # When the only units that implement the item have suspended their online services: the lowest
    # of them, and the nearest active unit above it, where the citizen can turn meanwhile.
    suspended: Tenant | None = None
    turn_to: Tenant | None = None
    # The place is above the level that handles the item: the units below it that have it.
    choices: list[Choice] = field(default_factory=list)
    # The place was a name several units share: which one is meant.
    places: list[Place] = field(default_factory=list)
    # The remembered place chose among the units below the place.
    by_remembered_place: bool = False


def place_chain(division_code: str) -> list[str]:
    """The place and every unit above it, lowest first (12-digit codes)."""
    code = (division_code or "").strip()
    if len(code) == 6 and code.isdigit():
        code = code + "000000"
    if len(code) != 12 or not code.isdigit():
        raise ValidationError(_("A place is a 6- or 12-digit division code."))
    chain = [code]
    for digits in sorted(SIGNIFICANT_DIGITS.values(), reverse=True):
        ancestor = code[:digits].ljust(12, "0")
        if ancestor not in chain:
            chain.append(ancestor)
    return chain


def place_from_id_number(id_number: str) -> str:
    """An applicant's default place: the issuing county, the first 6 digits of the ID number."""
    return normalize_id_number(id_number)[:6] + "000000"


def _place_code(place: str) -> str | Route:
    """A 12-digit code for a place given by code or by name; a Route asking to choose when the name
    fits several units."""
    text = place.strip()
    if text.isascii():
        return place_chain(text)[0]
    found = places.find_places(text)
    if not found:
        raise ValidationError(_("No place is called %(name)s.") % {"name": text[:50]})
    if len(found) > 1:
        return Route(None, "", _("Several places have this name: choose yours."), places=found)
    return found[0].code


def _nearest_active_above(code: str, by_code: dict) -> Tenant | None:
    for ancestor in place_chain(code)[1:]:
        unit = by_code.get(ancestor)
        if unit is not None and unit.status == Tenant.Status.ACTIVE:
            return unit
    return None


def route(
    item_code: str,
    *,
    place: str | None = None,
    id_number: str | None = None,
    remembered: str | None = None,
) -> Route:
    """`remembered`: the citizen's remembered place (12-digit code); used when no place or ID
    number is given, and to choose among the units below the place when it lies among them."""
    if place:
        code = _place_code(place)
        if isinstance(code, Route):
            return code
    elif id_number:
        code = place_from_id_number(id_number)
    elif remembered:
        code = remembered
    else:
        raise ValidationError(_("Give a place or an ID number."))
    chain = place_chain(code)
    code = chain[0]
    level = level_of_code(code)
    prefix = code[: SIGNIFICANT_DIGITS[level]] if level and level != "township" else None
    # The units come from the in-memory tenant map; the query reads only the lists themselves.
    by_code = host_map.all_by_code()
    units = {t.id: t for t in host_map.by_codes(chain).values() if t.status in ROUTABLE}
    below = {
        t.id: t
        for c, t in by_code.items()
        if prefix and c.startswith(prefix) and c != code and t.status in ROUTABLE
    }
    candidates = [
        Implementation(
            id=pk, code=implementation_code, tenant=units.get(tenant_id) or below[tenant_id]
        )
        for pk, implementation_code, tenant_id in Implementation.objects.filter(
            item__code=item_code,
            status=Implementation.Status.PUBLISHED,
            tenant_id__in=[*units, *below],
        ).values_list("id", "code", "tenant_id")
    ]
    here = [i for i in candidates if i.tenant.code == code and i.tenant.is_active]
    if here:
        return Route(here[0], code)
    under = sorted((i for i in candidates if i.tenant.id in below), key=lambda i: i.tenant.code)
    if under:
        return _choose_below(code, prefix, under, remembered, by_code)
    return _walk_up(code, chain, [i for i in candidates if i.tenant.id in units], units)


def _choose_below(code: str, prefix: str, under: list, remembered: str | None, by_code) -> Route:
    if remembered and remembered != code and remembered.startswith(prefix):
        # The remembered place lies below the place: the lowest unit on its way up that has it.
        way_up = place_chain(remembered)
        on_the_way = [i for i in under if i.tenant.code in way_up and i.tenant.is_active]
        if on_the_way:
            lowest = min(on_the_way, key=lambda i: way_up.index(i.tenant.code))
            return Route(lowest, code, by_remembered_place=True)
    choices = []
    for implementation in under:
        unit = implementation.tenant
        found = places.place(unit.code)
        choices.append(
            Choice(
                implementation,
                found.path if found else unit.name,
                None if unit.is_active else _nearest_active_above(unit.code, by_code),
            )
        )
    reason = _("Units below this place handle this item: choose yours.")
    return Route(None, code, reason, choices=choices)


def _walk_up(code: str, chain: list[str], candidates: list, units: dict) -> Route:
    depth = {c: position for position, c in enumerate(chain)}
    active = [i for i in candidates if i.tenant.status == Tenant.Status.ACTIVE]
    if active:
        return Route(min(active, key=lambda i: depth[i.tenant.code]), code)
    if not candidates:
        return Route(None, code, _("No unit implements this item for this place yet."))
    suspended = min(candidates, key=lambda i: depth[i.tenant.code]).tenant
    above = [
        t
        for t in units.values()
        if t.status == Tenant.Status.ACTIVE and depth[t.code] > depth[suspended.code]
    ]
    turn_to = min(above, key=lambda t: depth[t.code]) if above else None
    if turn_to is None:
        reason = _("%(unit)s has suspended its online services.") % {"unit": suspended.name}
    else:
        reason = _("%(unit)s has suspended its online services; meanwhile, turn to %(above)s.") % {
            "unit": suspended.name,
            "above": turn_to.name,
        }
    return Route(None, code, reason, suspended=suspended, turn_to=turn_to)
