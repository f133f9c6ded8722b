"""Places (administrative units) by code or by name, and the remembered place (`gov_place`).

A citizen names a place as they would say it: "金水区", "郑州市金水区", "林山寨" or "林山寨街道", a 6- or
12-digit code. Everything is answered from the in-memory host map (tenants.hosts): no query when
the map is warm. A name several units share (many townships are called 城关镇) gives all of them,
each with its full path (河南省 › 郑州市 › …), for the citizen to choose.
"""

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from tenants.divisions.codes import LEVEL_ORDER
from tenants.hosts import host_map
from tenants.models import Tenant

PLACE_COOKIE = "gov_place"
PLACE_COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_PLACE_TEXT = 50
PATH_SEPARATOR = " › "
# What a name may be said without ("林山寨" for 林山寨街道), longest first.
SUFFIXES = ("街道办事处", "街道", "自治县", "镇", "乡", "区", "县", "市", "省")
_IGNORED = str.maketrans("", "", " \u3000\t›>/·,，、")


def short_name(name: str) -> str:
    """The name without its suffix (林山寨街道 → 林山寨), unless that would leave one character."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Place:
    unit: Tenant
    lineage: tuple  # the units from the province down to this one

    @property
    def path(self) -> str:
        return PATH_SEPARATOR.join(u.name for u in self.lineage)

    @property
    def code(self) -> str:
        return self.unit.code


class _Index:
    """Names, parents and children of every live unit, built once per load of the host map."""

    def __init__(self, by_code: dict):
        self.source = by_code
        live = [t for t in by_code.values() if t.status != Tenant.Status.RETIRED]
        self.by_code = {t.code: t for t in live}
        by_id = {t.id: t for t in live}
        self.parent = {t.code: by_id.get(t.parent_id) for t in live}
        self.children: dict[str | None, list[Tenant]] = {}
        self.by_name: dict[str, list[Tenant]] = {}
        for unit in sorted(live, key=lambda t: t.code):
            parent = self.parent[unit.code]
            self.children.setdefault(parent.code if parent else None, []).append(unit)
            for name in {unit.name, short_name(unit.name)}:
                self.by_name.setdefault(name, []).append(unit)

    def lineage(self, unit: Tenant) -> tuple:
        chain = [unit]
        while (parent := self.parent.get(chain[-1].code)) is not None and len(chain) < 8:
            chain.append(parent)
        return tuple(reversed(chain))


_lock = threading.Lock()
_index: _Index | None = None


def _current() -> _Index:
    global _index
    by_code = host_map.all_by_code()
    index = _index
    if index is None or index.source is not by_code:
        index = _Index(by_code)
        with _lock:
            _index = index
    return index


def _clean(text: str) -> str:
    text = (text or "").strip()
    if "\x00" in text or len(text) > MAX_PLACE_TEXT:
        raise ValidationError(
            _("A place is a name or a division code of at most %(n)d characters.")
            % {"n": MAX_PLACE_TEXT}
        )
    return text.translate(_IGNORED)


def _code_of(text: str) -> str | None:
    if text.isascii() and text.isdigit() and len(text) in (6, 9, 12):
        return text.ljust(12, "0")
    return None


def _named(index: _Index, text: str) -> list[Tenant]:
    """Units whose name ends `text`, the rest of `text` naming units above them (any of them:
    "河南省金水区" skips the city)."""
    found = []
    for start in range(len(text)):
        for unit in index.by_name.get(text[start:], ()):
            lineage = index.lineage(unit)
            if start == 0 or _ancestors_named(index, text[:start], lineage[:-1]):
                found.append(unit)
    return found


def _ancestors_named(index: _Index, text: str, ancestors: tuple) -> bool:
    if not text:
        return True
    for position, unit in enumerate(ancestors):
        for name in (unit.name, short_name(unit.name)):
            if text.endswith(name) and _ancestors_named(
                index, text[: -len(name)], ancestors[:position]
            ):
                return True
    return False


def find_places(text: str) -> list[Place]:
    """The units `text` names: by code, by name (full or short, with or without the units above),
    else those whose name contains it. Highest level first, then by code."""
    index = _current()
    text = _clean(text)
    if not text:
        return []
    code = _code_of(text)
    if code is not None:
        units = [index.by_code[code]] if code in index.by_code else []
    elif text.isascii() and text.isdigit():
        units = []
    else:
        units = _named(index, text) or [u for u in index.by_code.values() if text in u.name]
    units = list(dict.fromkeys(units))
    units.sort(key=lambda u: (LEVEL_ORDER.index(u.level), u.code))
    return [Place(u, index.lineage(u)) for u in units]


def place(code: str) -> Place | None:
    """A live unit by its 12-digit code."""
    index = _current()
    unit = index.by_code.get(code) if isinstance(code, str) and len(code) == 12 else None
    return Place(unit, index.lineage(unit)) if unit is not None else None


def top_places() -> list[Place]:
    """Where the place picker starts: the units with no unit above (the province)."""
    index = _current()
    return [Place(u, index.lineage(u)) for u in index.children.get(None, [])]


def children(code: str) -> list[Place] | None:
    """The live units directly under a unit, by code; None when the unit is unknown."""
    index = _current()
    if code not in index.by_code:
        return None
    return [Place(u, index.lineage(u)) for u in index.children.get(code, [])]


def remembered_place(request) -> Place | None:
    """The place the citizen chose in the place picker (cookie `gov_place`), if still a unit."""
    code = request.COOKIES.get(PLACE_COOKIE, "")
    return place(code) if code.isascii() and code.isdigit() else None


def remember_place(response, unit: Tenant) -> None:
    """Set `gov_place` for the base domain, as the session cookie, so every unit's site sees it."""
    response.set_cookie(
        PLACE_COOKIE,
        unit.code,
        max_age=PLACE_COOKIE_MAX_AGE,
        domain=settings.SESSION_COOKIE_DOMAIN,
        path="/",
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )


def forget_place(response) -> None:
    response.delete_cookie(PLACE_COOKIE, path="/", domain=settings.SESSION_COOKIE_DOMAIN)


def safe_next(target: str) -> str | None:
    """Where "use this place" may return to: a path on this site or a page of the platform (the
    base domain or one of its subdomains). Anything else (another site, `//evil`, `javascript:`)
    is None, so the picker never redirects off the platform."""
    if not target or len(target) > 2000 or any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if not parts.netloc:
        ok = target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None)
        return target if ok else None
    base = settings.BASE_DOMAIN
    host = (parts.hostname or "").rstrip(".")
    if "@" in parts.netloc or not (host == base or host.endswith("." + base)):
        return None
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={parts.netloc})
    return target if ok else None
