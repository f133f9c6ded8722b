"""Routing a citizen to the unit that handles an item for a place (DESIGN.md §4): the lowest level
that has the item published in its implementation list, walking up from the place. One query."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shared_apps.accounts.identity import normalize_id_number
from shared_apps.catalog.models import Implementation
from tenants.divisions.codes import SIGNIFICANT_DIGITS
from tenants.hosts import host_map
from tenants.models import Tenant


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


def route(item_code: str, *, place: str | None = None, id_number: str | None = None) -> Route:
    if not place:
        if not id_number:
            raise ValidationError(_("Give a place or an ID number."))
        place = place_from_id_number(id_number)
    chain = place_chain(place)
    # The units come from the in-memory tenant map; the query reads only the list itself.
    units = {
        t.id: t
        for t in host_map.by_codes(chain).values()
        if t.status in (Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED)
    }
    candidates = [
        Implementation(id=pk, code=code, tenant=units[tenant_id])
        for pk, code, tenant_id in Implementation.objects.filter(
            item__code=item_code, status=Implementation.Status.PUBLISHED, tenant_id__in=list(units)
        ).values_list("id", "code", "tenant_id")
    ]
    depth = {code: position for position, code in enumerate(chain)}
    active = [i for i in candidates if i.tenant.status == Tenant.Status.ACTIVE]
    if active:
        return Route(min(active, key=lambda i: depth[i.tenant.code]), chain[0])
    if not candidates:
        return Route(None, chain[0], _("No unit implements this item for this place yet."))
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
    return Route(None, chain[0], reason, suspended=suspended, turn_to=turn_to)
