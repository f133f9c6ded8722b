"""Reads for the home pages of the portal and of every unit, and the site's name.

A home page shows what is the same for every visitor (the unit's themes, popular items,
departments and lower units) around what is the visitor's own (place, language, account). What is
province-wide and costs a scan of the implementation lists (how many units publish each item, the
portal's whole page) is kept per process for CACHE_SECONDS; a unit's own rows are read on every
request with a fixed number of indexed queries, so a unit's page is never staler than its data.
"""

import threading
from dataclasses import dataclass, field
from time import monotonic
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from shared_apps.catalog import themes as catalog_themes
from shared_apps.catalog.models import BasicItem, Implementation
from tenant_apps.departments.models import Department
from tenants.hosts import host_map
from tenants.models import Tenant

# How stale the province-wide figures may be: a new item, unit or publication shows on the portal
# (and in the units' rankings) at most this long after it is made.
CACHE_SECONDS = 60
POPULAR_ITEMS = 8


class SharedValues:
    """Values that are the same for every visitor, kept in this process for CACHE_SECONDS.

    Two requests that miss at once both compute; the later result is kept (no lock held while
    querying). The keys are a few fixed names, so memory stays bounded.
    """

    def __init__(self):
        self._values: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, compute):
        now = monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = compute()
        with self._lock:
            self._values[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


shared = SharedValues()


@dataclass(frozen=True)
class Theme:
    name: str  # the catalog's own (Chinese) name, as stored in BasicItem.themes and in links
    label: str  # lazily translated label for the page's language
    count: int


@dataclass(frozen=True)
class PopularItem:
    name: str
    code: str  # the basic code on the portal, the implementation code on a unit's site
    units: int  # how many units publish it
    department: str = ""


@dataclass
class HomeData:
    popular: list[PopularItem] = field(default_factory=list)
    personal: list[Theme] = field(default_factory=list)
    organisation: list[Theme] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    lower_units: list[Tenant] = field(default_factory=list)
    total: int = 0  # items in the whole catalog (portal) or in the unit's list


def units_publishing() -> dict[int, int]:
    """Item id → how many units publish it in their implementation list.

    The popularity measure of the home pages until cases exist: an item that nearly every unit
    offers (an ID card, a marriage registration) is one that nearly everyone may need, while an
    item one unit offers is specialised. The case-handling work will replace it with the number
    of applications. One grouped index scan of the published rows, kept for CACHE_SECONDS.
    """

    def compute():
        return dict(
            Implementation.objects.filter(status=Implementation.Status.PUBLISHED)
            .values("item_id")
            .annotate(units=Count("id"))
            .values_list("item_id", "units")
        )

    return shared.get("units_publishing", compute)


def _themes(counts: dict[str, int]) -> tuple[list[Theme], list[Theme]]:
    def group(themes):
        return [Theme(name, label, counts.get(name, 0)) for name, label in themes.items()]

    return group(catalog_themes.PERSONAL), group(catalog_themes.ORGANISATION)


def _lower_units(parent_id: int) -> list[Tenant]:
    """The units directly below, by code. Retired units are left out (their sites point to the
    unit above); suspended ones stay, marked, since their pages say why and until when."""
    return list(
        Tenant.objects.filter(parent_id=parent_id)
        .exclude(status=Tenant.Status.RETIRED)
        .only("code", "name", "subdomain", "status", "parent_id")
        .order_by("code")
    )


def province() -> Tenant | None:
    def compute():
        return Tenant.objects.filter(level=Tenant.Level.PROVINCE).order_by("code").first()

    return shared.get("province", compute)


def portal_home() -> tuple[Tenant | None, HomeData]:
    """The portal's page data: the whole catalog's themes, the items most units publish, the
    province's departments and the units directly below it. The same for everyone: cached."""

    def compute():
        top = province()
        data = HomeData()
        with connection.cursor() as cursor:
            # One row per theme rather than every item's list.
            cursor.execute(
                "SELECT theme, count(*) FROM catalog_basicitem, "
                "jsonb_array_elements_text(themes) AS theme GROUP BY theme"
            )
            data.personal, data.organisation = _themes(dict(cursor.fetchall()))
        data.total = BasicItem.objects.count()
        units = units_publishing()
        ranked = sorted(units, key=lambda item_id: (-units[item_id], item_id))[:POPULAR_ITEMS]
        items = BasicItem.objects.only("code", "name").in_bulk(ranked)
        data.popular = [
            PopularItem(items[i].name, items[i].code, units[i]) for i in ranked if i in items
        ]
        if top is not None:
            data.lower_units = _lower_units(top.id)
            if top.provisioned_at is not None:
                # The province's own departments live in its schema: one read there.
                with tenant_context(top):
                    data.departments = list(Department.objects.filter(is_active=True))
        return top, data

    return shared.get("portal", compute)


def unit_home(tenant: Tenant) -> HomeData:
    """A unit's page data in three queries on its own rows (departments, lower units, its
    published items with their themes); the ranking uses the cached province-wide counts."""
    data = HomeData()
    data.departments = list(Department.objects.filter(is_active=True))
    data.lower_units = _lower_units(tenant.id)
    published = list(
        Implementation.objects.filter(
            tenant_id=tenant.id, status=Implementation.Status.PUBLISHED
        ).values_list(
            "code", "department_name", "item_id", "item__code", "item__name", "item__themes"
        )
    )
    counts: dict[str, int] = {}
    for *_rest, item_themes in published:
        for theme in set(item_themes):
            counts[theme] = counts.get(theme, 0) + 1
    data.personal, data.organisation = _themes(counts)
    data.total = len(published)
    units = units_publishing()
    ranked = sorted(published, key=lambda row: (-units.get(row[2], 0), row[3]))
    data.popular = [
        PopularItem(name, code, units.get(item_id, 0), department)
        for code, department, item_id, _item_code, name, _themes in ranked[:POPULAR_ITEMS]
    ]
    return data


@dataclass(frozen=True)
class ThemeTile:
    label: str
    count: str  # "3 项" / "3 services", or "暂无" / "none yet"
    query: str  # the catalog's filter for it ("theme=…"), empty when it has no service


def theme_tiles(themes: list[Theme]) -> list[ThemeTile]:
    """The tiles of a theme group in the page's language, as plain strings: one template loop
    then renders them (translating in the template costs several times more per tile)."""
    return [
        ThemeTile(
            str(theme.label),
            ngettext("%(n)s service", "%(n)s services", theme.count) % {"n": theme.count}
            if theme.count
            else _("none yet"),
            urlencode({"theme": theme.name}) if theme.count else "",
        )
        for theme in themes
    ]


def ancestors(tenant: Tenant) -> list[Tenant]:
    """The units above, from the province down, from the in-memory host map (no query when warm)."""
    chain = []
    parent = tenant.parent
    while parent is not None and len(chain) < len(Tenant.Level):
        chain.append(parent)
        parent = getattr(host_map.by_codes([parent.code]).get(parent.code), "parent", None)
    return chain[::-1]


def english_name(tenant: Tenant) -> str:
    """A unit's name on English pages: the pinyin of its name without the administrative suffix,
    which is what its subdomain was made from (河南省 → Henan)."""
    return tenant.subdomain.split("-")[0].capitalize()


def local_name(tenant: Tenant) -> str:
    """A unit's name in the page's language."""
    return tenant.name if (get_language() or "").startswith("zh") else english_name(tenant)


def site_name() -> str:
    """The platform's name in the page's language, with the province's name from its unit:
    河南省网上政务服务平台 / Henan Online Government Services."""
    top = province()
    if top is None:
        return _("Online Government Services")
    return _("%(province)s Online Government Services") % {"province": local_name(top)}
