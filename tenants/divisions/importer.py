"""Importing a province's administrative division list (行政区划) into tenants.

The file is a UTF-8 CSV with the header `code,name,level,parent_code`, one unit a line:
12-digit code, name, level (province, city, county, township) and the parent's code (empty for the
province). It must describe one province completely; see tenants/divisions/README.md.

Importing is idempotent: new units become tenants, renamed units are renamed, units that moved get
their new parent, units missing from the file are retired (never dropped: their data stays), and a
retired unit that is back is reinstated with the status it had before. Subdomains made from a
misreading that tenants.subdomains now corrects are renamed first, each audited, and the former one
kept as an alias that redirects (it is never given to another unit). A bad file is rejected with
every offending line named and nothing applied. A valid but partial file would retire most of the
province: retiring more than a small share of the units (RETIREMENT_SHARE, at least
RETIREMENT_MINIMUM units) is refused unless explicitly allowed. A dry run reports and changes nothing.
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.audit.actions import record_audit
from tenants import subdomains
from tenants.divisions.codes import LEVEL_ORDER, is_within, level_of_code
from tenants.hosts import host_map
from tenants.models import SubdomainAlias, Tenant

HEADER = ["code", "name", "level", "parent_code"]
# Without --allow-mass-retirement an import retires at most this share of the units that are not
# retired yet, or this many units where that is more (a small province still loses a unit or two).
RETIREMENT_SHARE = 0.05
RETIREMENT_MINIMUM = 3
NAME_LENGTH = Tenant._meta.get_field("name").max_length


@dataclass(frozen=True)
class DivisionRow:
    line: int
    code: str
    name: str
    level: str
    parent_code: str


class DivisionFileError(Exception):
    """The file can't be imported; `errors` names every offending line."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


class TooManyRetirements(DivisionFileError):
    """A valid file that would retire more than the allowed share of the province."""


def retirement_limit(live_units: int) -> int:
    return max(RETIREMENT_MINIMUM, int(live_units * RETIREMENT_SHARE))


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    reinstated: list[str] = field(default_factory=list)
    # "code old → new" for every subdomain corrected (the old one redirects).
    subdomains_corrected: list[str] = field(default_factory=list)
    unchanged: int = 0
    # Name of every unit created, moved, retired or reinstated, for the report.
    names: dict[str, str] = field(default_factory=dict)
    # Units that were not retired before the import, and how many of them it may retire.
    live_units: int = 0
    retirement_limit: int = 0

    @property
    def too_many_retirements(self) -> bool:
        return len(self.retired) > self.retirement_limit

    def as_dict(self) -> dict:
        return {
            "created": len(self.created),
            "renamed": len(self.renamed),
            "moved": len(self.moved),
            "retired": len(self.retired),
            "reinstated": len(self.reinstated),
            "subdomains_corrected": len(self.subdomains_corrected),
            "unchanged": self.unchanged,
        }


def read_division_file(source: Path | str | io.TextIOBase) -> list[DivisionRow]:
    """Parse and check a division file; raise DivisionFileError listing every problem."""
    if isinstance(source, (str, Path)):
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DivisionFileError([_("The file is not UTF-8 text.")]) from None
        except OSError as error:
            raise DivisionFileError(
                [_("The file can't be read: %(error)s") % {"error": error}]
            ) from None
    else:
        text = source.read()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != HEADER:
        raise DivisionFileError(
            [_("Line 1: the header must be %(header)s.") % {"header": ",".join(HEADER)}]
        )
    errors: list[str] = []
    rows: list[DivisionRow] = []
    for line, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != 4:
            errors.append(
                _("Line %(line)d: expected 4 fields, found %(count)d.")
                % {"line": line, "count": len(fields)}
            )
            continue
        code, name, level, parent_code = (f.strip() for f in fields)
        rows.append(DivisionRow(line, code, name, level, parent_code))
    errors.extend(_check_rows(rows))
    if errors:
        raise DivisionFileError(errors)
    return rows


def _check_rows(rows: list[DivisionRow]) -> list[str]:
    errors = []
    first_line: dict[str, int] = {}
    for row in rows:
        where = {"line": row.line, "code": row.code}
        if not (len(row.code) == 12 and row.code.isdigit()):
            errors.append(
                _("Line %(line)d: the code %(code)s must have exactly 12 digits.") % where
            )
            continue
        if row.code in first_line:
            errors.append(
                _("Line %(line)d: the code %(code)s already appears on line %(first)d.")
                % {**where, "first": first_line[row.code]}
            )
            continue
        first_line[row.code] = row.line
        if not row.name:
            errors.append(_("Line %(line)d: the unit %(code)s has no name.") % where)
        elif len(row.name) > NAME_LENGTH or not row.name.isprintable():
            errors.append(
                _(
                    "Line %(line)d: the name of %(code)s must be at most %(length)d printable characters."
                )
                % {**where, "length": NAME_LENGTH}
            )
        if row.level not in LEVEL_ORDER:
            errors.append(
                _(
                    "Line %(line)d: unknown level %(level)s (expected province, city, county or township)."
                )
                % {**where, "level": row.level}
            )
        elif level_of_code(row.code) != row.level:
            errors.append(
                _("Line %(line)d: the code %(code)s is not a %(level)s-level code.")
                % {**where, "level": Tenant.Level(row.level).label}
            )
    by_code = {row.code: row for row in rows}
    provinces = [row for row in rows if row.level == "province"]
    if len(provinces) != 1:
        errors.append(
            _("The file must contain exactly one province; it contains %(count)d.")
            % {"count": len(provinces)}
        )
    for row in rows:
        where = {"line": row.line, "code": row.code, "parent": row.parent_code}
        if row.level == "province":
            if row.parent_code:
                errors.append(
                    _("Line %(line)d: the province %(code)s can't have a parent.") % where
                )
            continue
        if row.level not in LEVEL_ORDER or not row.code.isdigit():
            continue
        parent = by_code.get(row.parent_code)
        if parent is None:
            errors.append(
                _("Line %(line)d: the parent %(parent)s of %(code)s is not in the file.") % where
            )
        elif parent.level not in LEVEL_ORDER or LEVEL_ORDER.index(
            parent.level
        ) >= LEVEL_ORDER.index(row.level):
            errors.append(_("Line %(line)d: the parent %(parent)s is not above %(code)s.") % where)
        elif not is_within(row.code, parent.code, parent.level):
            errors.append(
                _("Line %(line)d: the code %(code)s does not lie within its parent %(parent)s.")
                % where
            )
    return errors


def import_divisions(
    rows: list[DivisionRow],
    *,
    actor: str,
    source: str,
    dry_run: bool = False,
    allow_mass_retirement: bool = False,
) -> ImportSummary:
    """Create, rename, move, retire and reinstate tenants to match a checked division list.

    `dry_run` computes the same summary and rolls everything back. Retiring more than
    retirement_limit() units raises TooManyRetirements (nothing applied) unless
    `allow_mass_retirement`."""
    summary = ImportSummary()
    with transaction.atomic():
        existing = {t.code: t for t in Tenant.objects.select_for_update().order_by("code")}
        summary.live_units = sum(1 for t in existing.values() if t.status != Tenant.Status.RETIRED)
        province_code = next(r.code for r in rows if r.level == "province")
        other_provinces = [
            t for t in existing.values() if t.level == "province" and t.code != province_code
        ]
        if other_provinces:
            raise DivisionFileError(
                [
                    _(
                        "This platform serves %(province)s; the file describes another province (%(code)s)."
                    )
                    % {"province": other_provinces[0], "code": province_code}
                ]
            )
        taken = (
            {t.subdomain for t in existing.values()}
            | set(SubdomainAlias.objects.values_list("subdomain", flat=True))
            | set(settings.RESERVED_SUBDOMAINS)
        )
        now = timezone.now()
        _correct_subdomains(existing, taken, now, actor=actor, summary=summary)
        changed: list[Tenant] = []
        ordered = sorted(rows, key=lambda r: (LEVEL_ORDER.index(r.level), r.code))
        for level in LEVEL_ORDER:
            new_tenants = []
            for row in (r for r in ordered if r.level == level):
                parent = existing.get(row.parent_code) if row.parent_code else None
                tenant = existing.get(row.code)
                if tenant is None:
                    tenant = Tenant(
                        code=row.code,
                        name=row.name,
                        level=row.level,
                        parent=parent,
                        schema_name=f"t_{row.code}",
                        subdomain=subdomains.choose(
                            row.name,
                            row.level,
                            row.code,
                            parent.subdomain if parent else None,
                            taken,
                        ),
                    )
                    new_tenants.append(tenant)
                    summary.created.append(row.code)
                    summary.names[row.code] = row.name
                    continue
                dirty = False
                if tenant.name != row.name:
                    summary.renamed.append(f"{row.code} {tenant.name} → {row.name}")
                    tenant.name, dirty = row.name, True
                if tenant.parent_id != (parent.id if parent else None):
                    summary.moved.append(row.code)
                    summary.names[row.code] = row.name
                    tenant.parent, dirty = parent, True
                if tenant.status == Tenant.Status.RETIRED:
                    summary.reinstated.append(row.code)
                    summary.names[row.code] = row.name
                    tenant.status = tenant.status_before_retirement or Tenant.Status.ACTIVE
                    tenant.status_reason = tenant.reason_before_retirement
                    tenant.retired_at = None
                    tenant.status_before_retirement = tenant.reason_before_retirement = ""
                    dirty = True
                if dirty:
                    tenant.updated_at = now
                    changed.append(tenant)
                else:
                    summary.unchanged += 1
            Tenant.objects.bulk_create(new_tenants, batch_size=1000)
            existing.update((t.code, t) for t in new_tenants)
        in_file = {r.code for r in rows}
        reason = _("Not in the division list %(source)s") % {"source": source}
        summary.retirement_limit = retirement_limit(summary.live_units)
        for code, tenant in existing.items():
            if code not in in_file and tenant.status != Tenant.Status.RETIRED:
                tenant.status_before_retirement = tenant.status
                tenant.reason_before_retirement = tenant.status_reason
                tenant.status, tenant.retired_at, tenant.status_reason = (
                    Tenant.Status.RETIRED,
                    now,
                    reason[:200],
                )
                tenant.updated_at = now
                changed.append(tenant)
                summary.retired.append(code)
                summary.names[code] = tenant.name
        if dry_run:
            transaction.set_rollback(True)
            return summary
        if summary.too_many_retirements and not allow_mass_retirement:
            raise TooManyRetirements(
                [
                    _(
                        "This file would retire %(count)d of the %(total)d units (at most %(limit)d are retired without confirmation): is it a partial list? To retire them, run the import again with --allow-mass-retirement."
                    )
                    % {
                        "count": len(summary.retired),
                        "total": summary.live_units,
                        "limit": summary.retirement_limit,
                    }
                ]
            )
        Tenant.objects.bulk_update(
            changed,
            [
                "name",
                "parent",
                "status",
                "retired_at",
                "status_reason",
                "status_before_retirement",
                "reason_before_retirement",
                "updated_at",
            ],
            batch_size=1000,
        )
        record_audit(
            actor=actor,
            action="tenants.import_divisions",
            target=source,
            data=summary.as_dict(),
        )
    host_map.invalidate()  # this process at once; the others hear the database's notification
    return summary


def _correct_subdomains(existing: dict[str, Tenant], taken: set[str], now, *, actor, summary):
    """Rename the subdomains made from a misreading (tenants.subdomains.misread_subdomains), keep
    each former one as an alias, audit each in its unit's log. Idempotent: a corrected subdomain
    is no longer a misreading."""
    code_of = {t.id: code for code, t in existing.items()}
    units = [
        subdomains.Unit(t.code, t.name, t.level, code_of.get(t.parent_id, ""), t.subdomain)
        for t in sorted(existing.values(), key=lambda t: (LEVEL_ORDER.index(t.level), t.code))
    ]
    corrected = subdomains.misread_subdomains(units, taken)
    if not corrected:
        return
    tenants, aliases = [], []
    for code, subdomain in corrected.items():
        tenant = existing[code]
        aliases.append(SubdomainAlias(subdomain=tenant.subdomain, tenant=tenant))
        summary.subdomains_corrected.append(f"{code} {tenant.subdomain} → {subdomain}")
        record_audit(
            actor=actor,
            action="tenants.correct_subdomain",
            target=code,
            tenant=tenant,
            data={"from": tenant.subdomain, "to": subdomain, "name": tenant.name},
        )
        tenant.subdomain, tenant.updated_at = subdomain, now
        tenants.append(tenant)
    Tenant.objects.bulk_update(tenants, ["subdomain", "updated_at"], batch_size=1000)
    SubdomainAlias.objects.bulk_create(aliases, batch_size=1000)
