import io
from pathlib import Path

import pytest
from django.db import connection

from tenants import provisioning
from tenants.divisions.codes import level_of_code
from tenants.divisions.importer import DivisionFileError, import_divisions, read_division_file
from tenants.management.commands.import_divisions import DEFAULT_FILE
from tenants.models import Tenant
from tests.helpers import SAMPLE_DIVISIONS

HEADER = "code,name,level,parent_code\n"


def sample_text() -> str:
    return SAMPLE_DIVISIONS.read_text("utf-8")


def rows_of(text: str):
    return read_division_file(io.StringIO(text))


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def test_shipped_henan_list_is_complete_and_valid():
    rows = read_division_file(DEFAULT_FILE)
    levels = [r.level for r in rows]
    assert (
        levels.count("province"),
        levels.count("city"),
        levels.count("county"),
        levels.count("township"),
    ) == (
        1,
        17,
        157,
        2471,
    )
    jiyuan = next(r for r in rows if r.code == "419001000000")
    assert (jiyuan.level, jiyuan.parent_code) == ("county", "410000000000")


@pytest.mark.parametrize(
    "code, level",
    [
        ("410000000000", "province"),
        ("410100000000", "city"),
        ("410102000000", "county"),
        ("419001000000", "county"),
        ("410102001000", "township"),
        ("410102001001", None),
        ("4101020010", None),
    ],
)
def test_level_of_code(code, level):
    assert level_of_code(code) == level


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("41010200100,短码街道,township,410102000000", "必须正好是 12 位数字"),
        ("410102009000,无父街道,township,410199000000", "不在文件中"),
        ("410102001000,重复街道,township,410102000000", "已出现在第"),
        ("410102009000,错级街道,county,410102000000", "不是县级代码"),
        ("410102009000,未知级别,village,410102000000", "未知的级别"),
        ("410105009000,越界街道,township,410102000000", "不在其上级"),
        ("410102009000,,township,410102000000", "没有名称"),
        ("410102009000,字段不足,township", "应有 4 个字段"),
        ("410102009000," + "长" * 101 + ",township,410102000000", "可打印字符"),
        ("410102009000,空\x00字符,township,410102000000", "可打印字符"),
    ],
)
def test_bad_line_is_named_and_nothing_is_applied(db, bad_line, message):
    text = sample_text() + bad_line + "\n"
    bad_line_number = text.count("\n")
    before = list(Tenant.objects.values_list("code", "name", "status"))
    with pytest.raises(DivisionFileError) as caught:
        import_divisions(rows_of(text), actor="test", source="bad.csv")
    assert any(f"第 {bad_line_number} 行" in e and message in e for e in caught.value.errors), (
        caught.value.errors
    )
    assert list(Tenant.objects.values_list("code", "name", "status")) == before


def test_every_offending_line_is_reported_at_once():
    text = (
        HEADER
        + "4101,甲,province,\n410100000000,乙,city,419900000000\n410100000000,丙,city,410000000000\n"
    )
    with pytest.raises(DivisionFileError) as caught:
        rows_of(text)
    joined = "\n".join(caught.value.errors)
    assert "第 2 行" in joined and "第 3 行" in joined and "第 4 行" in joined


def test_wrong_header_is_rejected():
    with pytest.raises(DivisionFileError, match="第 1 行"):
        rows_of("代码,名称\n410000000000,河南省\n")


def test_another_province_is_refused(db):
    text = HEADER + "420000000000,湖北省,province,\n"
    with pytest.raises(DivisionFileError, match="湖北|420000000000"):
        import_divisions(rows_of(text), actor="test", source="hubei.csv")
    assert not Tenant.objects.filter(code="420000000000").exists()


def test_reimport_is_idempotent(db):
    summary = import_divisions(rows_of(sample_text()), actor="test", source="again.csv")
    assert summary.as_dict() == {
        "created": 0,
        "renamed": 0,
        "moved": 0,
        "retired": 0,
        "reinstated": 0,
        "subdomains_corrected": 0,
        "unchanged": Tenant.objects.count(),
    }


def test_rename_keeps_subdomain_and_schema(db):
    town = Tenant.objects.get(code="410102001000")
    text = sample_text().replace("410102001000,林山寨街道", "410102001000,林山街道")
    summary = import_divisions(rows_of(text), actor="test", source="renamed.csv")
    assert len(summary.renamed) == 1
    renamed = Tenant.objects.get(code="410102001000")
    assert renamed.name == "林山街道"
    assert (renamed.subdomain, renamed.schema_name) == (town.subdomain, town.schema_name)


def test_missing_unit_is_retired_not_dropped_and_comes_back(db):
    text = "".join(
        line for line in sample_text().splitlines(True) if not line.startswith("410102002000")
    )
    summary = import_divisions(rows_of(text), actor="test", source="2027.csv")
    assert summary.retired == ["410102002000"]
    retired = Tenant.objects.get(code="410102002000")
    assert retired.status == Tenant.Status.RETIRED and retired.retired_at is not None
    assert schema_exists(retired.schema_name)

    summary = import_divisions(rows_of(sample_text()), actor="test", source="2028.csv")
    assert summary.reinstated == ["410102002000"]
    assert Tenant.objects.get(code="410102002000").status == Tenant.Status.ACTIVE


def test_new_unit_is_created_and_provisioned(db):
    text = sample_text() + "410105002000,花园路街道,township,410105000000\n"
    summary = import_divisions(rows_of(text), actor="test", source="new.csv")
    assert summary.created == ["410105002000"]
    new = Tenant.objects.get(code="410105002000")
    assert new.parent.code == "410105000000" and new.provisioned_at is None
    outcomes = provisioning.provision([new], processes=1)
    assert [o.ok for o in outcomes] == [True]
    new.refresh_from_db()
    assert new.provisioned_at is not None and schema_exists(new.schema_name)


def test_import_leaves_an_audit_entry(db):
    from shared_apps.audit.models import AuditEntry

    import_divisions(rows_of(sample_text()), actor="system:ops", source="audit.csv")
    entry = AuditEntry.objects.filter(action="tenants.import_divisions").latest("id")
    assert (entry.actor, entry.target) == ("system:ops", "audit.csv")


def test_command_rejects_bad_file_with_every_line(tmp_path: Path, db):
    from django.core.management import CommandError, call_command

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "410000000000,河南省,province,\n4101,郑州,city,410000000000\n", "utf-8")
    with pytest.raises(CommandError, match="第 3 行"):
        call_command("import_divisions", str(bad))


def tenant_rows():
    return list(
        Tenant.objects.order_by("code").values_list(
            "code", "name", "parent_id", "status", "status_reason", "retired_at"
        )
    )


def without(text: str, *prefixes: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith(prefixes))


def test_dry_run_prints_every_change_and_changes_nothing(tmp_path: Path, db):
    from django.core.management import call_command

    from shared_apps.audit.models import AuditEntry

    text = (
        without(sample_text(), "410102002000").replace(
            "410102001000,林山寨街道", "410102001000,林山街道"
        )
        + "410105002000,花园路街道,township,410105000000\n"
    )
    path = tmp_path / "2027.csv"
    path.write_text(text, "utf-8")
    before, audited = tenant_rows(), AuditEntry.objects.count()
    out = io.StringIO()
    call_command("import_divisions", str(path), "--dry-run", stdout=out)
    report = out.getvalue()
    assert "dry run, nothing changed" in report
    for line in (
        "create 410105002000 花园路街道",
        "rename 410102001000 林山寨街道 → 林山街道",
        "retire 410102002000 建设路街道",
    ):
        assert line in report, report
    assert tenant_rows() == before and AuditEntry.objects.count() == audited
    assert not schema_exists("t_410105002000")


def test_partial_file_retires_nothing_without_the_explicit_flag(tmp_path: Path, db):
    from django.core.management import CommandError, call_command

    partial = HEADER + (
        "410000000000,河南省,province,\n"
        "410100000000,郑州市,city,410000000000\n"
        "410102000000,中原区,county,410100000000\n"
    )
    before = tenant_rows()
    with pytest.raises(DivisionFileError) as caught:
        import_divisions(rows_of(partial), actor="test", source="partial.csv")
    assert "撤销" in caught.value.errors[0] and "--allow-mass-retirement" in caught.value.errors[0]
    path = tmp_path / "partial.csv"
    path.write_text(partial, "utf-8")
    with pytest.raises(CommandError, match="--allow-mass-retirement"):
        call_command("import_divisions", str(path), "--no-provision")
    # A dry run lists the retirements and says the import would be refused.
    out, err = io.StringIO(), io.StringIO()
    call_command("import_divisions", str(path), "--dry-run", stdout=out, stderr=err)
    assert out.getvalue().count("\n  retire ") == len(before) - 3
    assert "--allow-mass-retirement" in err.getvalue()
    assert tenant_rows() == before

    summary = import_divisions(
        rows_of(partial), actor="test", source="partial.csv", allow_mass_retirement=True
    )
    assert len(summary.retired) == len(before) - 3
    assert Tenant.objects.exclude(status=Tenant.Status.RETIRED).count() == 3


def test_a_few_retirements_need_no_flag(db):
    summary = import_divisions(
        rows_of(without(sample_text(), "410102001000", "410102002000", "410105001000")),
        actor="test",
        source="merged.csv",
    )
    assert len(summary.retired) == 3


def test_reinstated_unit_gets_back_the_status_it_had(db, provincial_admin):
    from tenants.actions import suspend_tenant

    suspend_tenant(
        Tenant.objects.get(code="410102002000"), actor=provincial_admin, reason="系统迁移"
    )
    import_divisions(rows_of(without(sample_text(), "410102002000")), actor="t", source="a.csv")
    assert Tenant.objects.get(code="410102002000").status == Tenant.Status.RETIRED
    summary = import_divisions(rows_of(sample_text()), actor="t", source="b.csv")
    assert summary.reinstated == ["410102002000"]
    back = Tenant.objects.get(code="410102002000")
    assert (back.status, back.status_reason, back.retired_at) == (
        Tenant.Status.SUSPENDED,
        "系统迁移",
        None,
    )
