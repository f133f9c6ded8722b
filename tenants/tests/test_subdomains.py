import re

from django.conf import settings

from tenants import subdomains
from tenants.divisions.codes import LEVEL_ORDER
from tenants.divisions.importer import read_division_file
from tenants.management.commands.import_divisions import DEFAULT_FILE

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def assign_all():
    rows = sorted(
        read_division_file(DEFAULT_FILE), key=lambda r: (LEVEL_ORDER.index(r.level), r.code)
    )
    taken = set(settings.RESERVED_SUBDOMAINS)
    by_code: dict[str, str] = {}
    for row in rows:
        by_code[row.code] = subdomains.choose(
            row.name, row.level, row.code, by_code.get(row.parent_code), taken
        )
    return by_code


def test_every_henan_unit_gets_a_unique_valid_subdomain():
    by_code = assign_all()
    assert len(by_code) == 2646
    assert len(set(by_code.values())) == 2646
    assert all(DNS_LABEL.match(label) for label in by_code.values())
    assert not set(by_code.values()) & settings.RESERVED_SUBDOMAINS


def test_subdomains_are_readable():
    by_code = assign_all()
    assert by_code["410000000000"] == "henan"
    assert by_code["410100000000"] == "zhengzhou"
    assert by_code["410105000000"] == "jinshui"
    assert by_code["410102001000"] == "linshanzhai-zhongyuan"
    # 新乡市 takes the bare name; 新乡县 keeps its suffix.
    assert by_code["410700000000"] == "xinxiang"
    assert by_code["410721000000"] == "xinxiangxian"
