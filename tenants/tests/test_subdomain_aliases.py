"""A deployment whose subdomains were made from misreadings (before tenants.subdomains had its place
readings) gets them corrected by the division import; the old ones redirect."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.audit.models import AuditEntry
from tenants import subdomains
from tenants.divisions.importer import import_divisions, read_division_file
from tenants.hosts import host_map
from tenants.models import SubdomainAlias, Tenant
from tests.helpers import SAMPLE_DIVISIONS

# Units of the Henan list whose names pypinyin misreads, added to the sample province.
MISREAD_UNITS = """\
411100000000,漯河市,city,410000000000
411104000000,召陵区,county,411100000000
411104102000,召陵镇,township,411104000000
410600000000,鹤壁市,city,410000000000
410621000000,浚县,county,410600000000
410621004000,浚州街道,township,410621000000
410700000000,新乡市,city,410000000000
410783000000,长垣市,county,410700000000
410783001000,蒲东街道,township,410783000000
"""
OLD = {
    "411100000000": "tahe",
    "411104000000": "zhaoling",
    "411104102000": "zhaoling-zhaoling",
    "410621000000": "junxian",
    "410621004000": "junzhou-junxian",
    "410783000000": "zhangyuan",
    "410783001000": "pudong-zhangyuan",
}
NEW = {
    "411100000000": "luohe",
    "411104000000": "shaoling",
    "411104102000": "shaoling-shaoling",
    "410621000000": "xunxian",
    "410621004000": "xunzhou-xunxian",
    "410783000000": "changyuan",
    "410783001000": "pudong-changyuan",
}


def division_text(extra: str = "") -> str:
    return SAMPLE_DIVISIONS.read_text("utf-8") + MISREAD_UNITS + extra


def rows(text: str):
    return read_division_file(io.StringIO(text))


def subdomains_of(codes) -> dict[str, str]:
    return dict(Tenant.objects.filter(code__in=codes).values_list("code", "subdomain"))


@pytest.fixture
def misread_province(db, monkeypatch):
    """The province as the code before the place readings imported it."""
    with monkeypatch.context() as before:
        before.setattr(subdomains, "PLACE_READINGS", {})
        import_divisions(rows(division_text()), actor="system:tests", source="2025.csv")
    assert subdomains_of(OLD) == OLD
    yield
    host_map.invalidate()  # the test's rows are rolled back without a notification


@pytest.fixture
def corrected_province(misread_province):
    return import_divisions(rows(division_text()), actor="system:ops", source="2026.csv")


def test_import_corrects_misread_subdomains_and_keeps_the_old_ones_as_aliases(
    corrected_province,
):
    summary = corrected_province
    assert subdomains_of(NEW) == NEW
    assert sorted(summary.subdomains_corrected) == sorted(
        f"{code} {OLD[code]} → {NEW[code]}" for code in NEW
    )
    aliases = dict(SubdomainAlias.objects.values_list("subdomain", "tenant__code"))
    assert aliases == {old: code for code, old in OLD.items()}
    # Nothing else changed: the sample's units and the correctly read cities kept theirs.
    assert subdomains_of(["410105000000", "410600000000", "410700000000"]) == {
        "410105000000": "jinshui",
        "410600000000": "hebi",
        "410700000000": "xinxiang",
    }


def test_each_correction_is_audited_in_its_units_log(corrected_province):
    entries = AuditEntry.objects.filter(action="tenants.correct_subdomain")
    assert {(e.tenant_code, e.target, e.data["from"], e.data["to"]) for e in entries} == {
        (code, code, OLD[code], NEW[code]) for code in NEW
    }
    assert {e.actor for e in entries} == {"system:ops"}
    summary = AuditEntry.objects.filter(action="tenants.import_divisions").latest("id")
    assert summary.data["subdomains_corrected"] == len(NEW)


def test_correcting_again_changes_nothing(corrected_province):
    audited = AuditEntry.objects.filter(action="tenants.correct_subdomain").count()
    summary = import_divisions(rows(division_text()), actor="system:ops", source="2026.csv")
    assert summary.subdomains_corrected == [] and summary.as_dict()["unchanged"] == len(
        rows(division_text())
    )
    assert SubdomainAlias.objects.count() == len(OLD)
    assert AuditEntry.objects.filter(action="tenants.correct_subdomain").count() == audited


def test_dry_run_lists_the_corrections_and_changes_nothing(misread_province, tmp_path):
    path = tmp_path / "2026.csv"
    path.write_text(division_text(), "utf-8")
    out = io.StringIO()
    call_command("import_divisions", str(path), "--dry-run", stdout=out)
    assert "correct 7 subdomains" in out.getvalue()
    assert "correct subdomain 411100000000 tahe → luohe" in out.getvalue()
    assert subdomains_of(OLD) == OLD and not SubdomainAlias.objects.exists()


def test_a_new_unit_never_takes_an_alias(corrected_province):
    # 塔河 reads tahe, 漯河's former subdomain: the new county gets its next option.
    import_divisions(
        rows(division_text("411190000000,塔河区,county,411100000000\n")),
        actor="system:ops",
        source="2027.csv",
    )
    assert Tenant.objects.get(code="411190000000").subdomain == "tahequ"
    assert SubdomainAlias.objects.get(subdomain="tahe").tenant.code == "411100000000"


def test_a_renamed_unit_keeps_its_corrected_subdomain(corrected_province):
    import_divisions(
        rows(division_text().replace("410783000000,长垣市", "410783000000,长垣新区")),
        actor="system:ops",
        source="2027.csv",
    )
    assert Tenant.objects.get(code="410783000000").subdomain == "changyuan"


# The redirect -----------------------------------------------------------------------------------


def old_host(port: str = "") -> str:
    return f"tahe.{settings.BASE_DOMAIN}" + (f":{port}" if port else "")


def new_origin(port: str = "") -> str:
    return f"http://luohe.{settings.BASE_DOMAIN}" + (f":{port}" if port else "")


def test_an_old_subdomain_redirects_permanently_keeping_path_and_query(client, corrected_province):
    response = client.get("/services/410000/guide?q=%E5%8A%9E&page=2", HTTP_HOST=old_host())
    assert response.status_code == 301
    assert response["Location"] == new_origin() + "/services/410000/guide?q=%E5%8A%9E&page=2"
    head = client.head("/", HTTP_HOST=old_host("8000"))
    assert (head.status_code, head["Location"]) == (301, new_origin("8000") + "/")


def test_other_methods_are_redirected_with_308_so_they_keep_method_and_body(
    client, corrected_province
):
    for method in (client.post, client.put, client.delete):
        response = method(
            "/api/v1/departments?x=1",
            data="{}",
            content_type="application/json",
            HTTP_HOST=old_host(),
        )
        assert response.status_code == 308
        assert response["Location"] == new_origin() + "/api/v1/departments?x=1"


def test_a_township_under_a_corrected_county_redirects_to_its_new_subdomain(
    client, corrected_province
):
    response = client.get("/", HTTP_HOST=f"pudong-zhangyuan.{settings.BASE_DOMAIN}")
    assert response["Location"] == f"http://pudong-changyuan.{settings.BASE_DOMAIN}/"


def test_the_redirect_never_leaves_the_platform(client, corrected_province):
    # A path that looks like another host stays a path on the unit's host.
    # (PATH_INFO: the test client would read "//evil.example/x" as a URL with a host.)
    response = client.get("/", PATH_INFO="//evil.example/x", HTTP_HOST=old_host())
    assert response["Location"] == new_origin() + "//evil.example/x"
    # Forwarded hosts are not believed.
    response = client.get("/", HTTP_HOST=old_host(), HTTP_X_FORWARDED_HOST="evil.example")
    assert response["Location"] == new_origin() + "/"
    # The alias under another domain is not an alias.
    response = client.get("/", HTTP_HOST=f"tahe.{settings.BASE_DOMAIN}.evil.example")
    assert response.status_code == 400 and not response.has_header("Location")
    response = client.get("/", HTTP_HOST="tahe.evil.example")
    assert response.status_code == 400 and not response.has_header("Location")


def test_the_redirect_costs_no_query(client, corrected_province):
    client.get("/", HTTP_HOST=old_host())  # the map is loaded
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/a/b?c=d", HTTP_HOST=old_host())
    assert response.status_code == 301
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_the_new_subdomain_serves_the_unit(corrected_province):
    match = host_map.match(f"luohe.{settings.BASE_DOMAIN}")
    assert (match.tenant.code, match.former) == ("411100000000", False)
    former = host_map.match(f"tahe.{settings.BASE_DOMAIN}")
    assert (former.tenant.code, former.former) == ("411100000000", True)
