"""One unit's administrators can't touch another unit's implementation list (issue 8, item 3).

The attack: zhongyuan's administrator created a department with jinshui's credit code, implemented
the same item, and jinshui's draft disappeared (implementation codes start with the credit code and
are province-wide). Department credit codes are now registered province-wide, and every write to an
implementation list is scoped to the acting unit."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import tenant_context

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.catalog import actions
from shared_apps.catalog.models import DepartmentRegistration, Implementation, OnlineDepth
from shared_apps.catalog.tests.conftest import PASSWORD, credit_code_in, make_department
from tenant_apps.departments.actions import create_department, update_department
from tenant_apps.departments.models import Department
from tenants.models import Tenant
from tests.helpers import host_of


@pytest.fixture
def zhongyuan(db):
    return Tenant.objects.get(code="410102000000")


@pytest.fixture
def jinshui(db):
    return Tenant.objects.get(code="410105000000")


@pytest.fixture
def jinshui_admin(root, jinshui, django_user_model):
    admin = django_user_model.objects.create_user("jinshui-admin", password=PASSWORD)
    accounts.grant_role(actor=root, user=admin, tenant=jinshui, role=Role.TENANT_ADMIN)
    return admin


def draft(item, tenant, department, actor, **overrides):
    version = actions.current_version(item)
    return actions.implement_item(
        actor=actor,
        tenant=tenant,
        department=department,
        item=item,
        promised_days=overrides.pop("promised_days", 10),
        place=f"{tenant.name}政务服务中心",
        hours="工作日 9:00-17:00",
        enquiry_phone="0371-12345",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        **overrides,
    )


def snapshot(tenant):
    return sorted(
        Implementation.objects.filter(tenant=tenant).values_list(
            "pk", "code", "status", "promised_days", "place", "updated_at"
        )
    )


@pytest.fixture
def jinshui_list(make_item, jinshui, jinshui_admin):
    """Jinshui's list: a draft and a published item, under one of its departments."""
    department = make_department(jinshui)
    pending = draft(make_item(), jinshui, department, jinshui_admin)
    published = actions.publish_implementation(
        draft(make_item(name="结婚登记", item_type="07"), jinshui, department, jinshui_admin),
        actor=jinshui_admin,
        tenant=jinshui,
    )
    return department, pending, published


def test_a_department_cannot_take_another_units_credit_code(
    client, zhongyuan, jinshui, county_admin
):
    jinshui_department = make_department(jinshui)
    with pytest.raises(ValidationError) as caught, tenant_context(zhongyuan):
        create_department(
            actor=county_admin, name="冒用的部门", credit_code=jinshui_department.credit_code
        )
    message = " ".join(caught.value.message_dict["credit_code"])
    assert "已由金水区的部门登记" in message and jinshui_department.credit_code in message

    # The API says the same, in lower case too, and nothing is created.
    sign_in_with_second_factor(client, county_admin)
    response = client.post(
        "/api/v1/departments",
        json.dumps({"name": "冒用的部门", "credit_code": jinshui_department.credit_code.lower()}),
        content_type="application/json",
        HTTP_HOST=host_of(zhongyuan),
    )
    assert response.status_code == 422 and "已由金水区的部门登记" in response.json()["detail"]
    for bad in ({"name": "空\x00字符"}, {"name": "长" * 101}, {"credit_code": "9" * 5000}):
        response = client.post(
            "/api/v1/departments",
            json.dumps({"name": "部门", "credit_code": credit_code_in(zhongyuan), **bad}),
            content_type="application/json",
            HTTP_HOST=host_of(zhongyuan),
        )
        # NUL is refused by the API's JSON parser (400), the rest by validation (422).
        assert response.status_code == (400 if "\x00" in bad.get("name", "") else 422), (
            response.content
        )
    with tenant_context(zhongyuan):
        assert not Department.objects.filter(credit_code=jinshui_department.credit_code).exists()
        # Nor by changing an existing department's code.
        own = make_department(zhongyuan)
        with pytest.raises(ValidationError, match="已由金水区的部门登记"):
            update_department(own, actor=county_admin, credit_code=jinshui_department.credit_code)
    registered = DepartmentRegistration.objects.get(credit_code=jinshui_department.credit_code)
    assert (registered.tenant, registered.department_id) == (jinshui, jinshui_department.pk)


def test_a_department_created_before_the_register_cannot_replace_another_units_draft(
    make_item, zhongyuan, jinshui, jinshui_admin, county_admin
):
    """The attack as reproduced, with zhongyuan's copy of jinshui's credit code already in its
    schema (written before departments were registered)."""
    item = make_item()
    jinshui_department = make_department(jinshui)
    jinshui_draft = draft(item, jinshui, jinshui_department, jinshui_admin)
    with tenant_context(zhongyuan):
        copied = Department.objects.create(
            name="冒用的部门", credit_code=jinshui_department.credit_code
        )
    before = snapshot(jinshui)
    with pytest.raises(ValidationError) as caught:
        draft(item, zhongyuan, copied, county_admin)
    assert "未登记在本单位名下" in " ".join(caught.value.message_dict["department"])
    assert snapshot(jinshui) == before
    assert Implementation.objects.get(pk=jinshui_draft.pk).status == "draft"
    assert not Implementation.objects.filter(tenant=zhongyuan).exists()
    # Jinshui publishes and withdraws its own item as usual.
    published = actions.publish_implementation(jinshui_draft, actor=jinshui_admin, tenant=jinshui)
    assert actions.withdraw_implementation(
        published, actor=jinshui_admin, tenant=jinshui
    ).status == ("withdrawn")


def test_another_units_administrator_is_refused_by_every_action(
    make_item, zhongyuan, jinshui, county_admin, jinshui_list
):
    department, pending, published = jinshui_list
    before = snapshot(jinshui)
    for tenant in (zhongyuan, jinshui):  # claiming either unit
        for action, row in (
            (actions.publish_implementation, pending),
            (actions.delete_draft, pending),
            (actions.withdraw_implementation, published),
        ):
            with pytest.raises(PermissionDenied):
                action(row, actor=county_admin, tenant=tenant)
    # Creating in jinshui's list, or editing its draft (implementing again replaces it).
    with pytest.raises(PermissionDenied):
        draft(pending.item, jinshui, department, county_admin, promised_days=1)
    # Jinshui's department under zhongyuan's name.
    with pytest.raises(ValidationError, match="未登记在本单位名下"):
        draft(pending.item, zhongyuan, department, county_admin)
    assert snapshot(jinshui) == before
    assert not Implementation.objects.filter(tenant=zhongyuan).exists()


def test_another_units_administrator_is_refused_by_the_api(
    client, zhongyuan, jinshui, county_admin, jinshui_list
):
    department, pending, published = jinshui_list
    before = snapshot(jinshui)
    sign_in_with_second_factor(client, county_admin)
    body = {
        "item_code": pending.item.code,
        "department_id": department.pk,
        "promised_days": 1,
        "place": "x",
        "hours": "x",
        "enquiry_phone": "x",
        "complaint_phone": "x",
        "online_depth": 4,
    }
    for host, expected in ((host_of(jinshui), 403), (host_of(zhongyuan), 404)):
        calls = [
            client.post(f"/api/v1/services/{pending.code}/publish", HTTP_HOST=host),
            client.delete(f"/api/v1/services/{pending.code}", HTTP_HOST=host),
            client.post(f"/api/v1/services/{published.code}/withdraw", HTTP_HOST=host),
            client.post(f"/api/v1/services/{published.code[:30]}%00/withdraw", HTTP_HOST=host),
            client.delete(f"/api/v1/services/{'9' * 5000}", HTTP_HOST=host),
        ]
        # A NUL in the path is refused before anything else is looked at (400); at home, an
        # over-long code fails validation (422), elsewhere authorization comes first (403).
        over_long = 403 if expected == 403 else 422
        assert [c.status_code for c in calls] == [expected, expected, expected, 400, over_long], [
            c.content for c in calls
        ]
    created = client.post(
        "/api/v1/services",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST=host_of(jinshui),
    )
    assert created.status_code == 403
    assert snapshot(jinshui) == before


def test_another_units_administrator_is_refused_by_the_page(
    client, zhongyuan, jinshui, county_admin, jinshui_list
):
    _department, pending, published = jinshui_list
    before = snapshot(jinshui)
    sign_in_with_second_factor(client, county_admin)
    for button, row in (("publish", pending), ("delete", pending), ("withdraw", published)):
        own_host = client.post("/services/manage", {button: row.pk}, HTTP_HOST=host_of(zhongyuan))
        assert own_host.status_code == 404
        their_host = client.post("/services/manage", {button: row.pk}, HTTP_HOST=host_of(jinshui))
        assert their_host.status_code == 403
    for bad in ("", "abc", "1\x00", "9" * 40, "²"):
        answer = client.post("/services/manage", {"withdraw": bad}, HTTP_HOST=host_of(zhongyuan))
        # NUL is refused by the request guard (400), other junk finds no row (404).
        assert answer.status_code == (400 if "\x00" in bad else 404)
    assert snapshot(jinshui) == before


def test_own_administrator_deletes_withdraws_and_every_deletion_is_audited(
    client, jinshui, jinshui_admin, jinshui_list
):
    department, pending, published = jinshui_list
    sign_in_with_second_factor(client, jinshui_admin)
    host = host_of(jinshui)
    # Editing the draft (implementing again) replaces it: the deletion is audited.
    edited = draft(pending.item, jinshui, department, jinshui_admin, promised_days=3)
    assert edited.code == pending.code and edited.pk != pending.pk
    replaced = AuditEntry.objects.get(action="catalog.delete_draft", target=pending.code)
    assert replaced.data["replaced"] is True and replaced.tenant_code == jinshui.code
    assert client.delete(f"/api/v1/services/{edited.code}", HTTP_HOST=host).status_code == 204
    assert not Implementation.objects.filter(pk=edited.pk).exists()
    assert (
        AuditEntry.objects.filter(action="catalog.delete_draft", target=pending.code).count() == 2
    )
    # A published item is withdrawn, not deleted.
    assert client.delete(f"/api/v1/services/{published.code}", HTTP_HOST=host).status_code == 409
    page = client.post("/services/manage", {"withdraw": published.pk}, HTTP_HOST=host)
    assert page.status_code == 302
    assert Implementation.objects.get(pk=published.pk).status == "withdrawn"
    assert AuditEntry.objects.filter(
        action="catalog.withdraw_implementation", target=published.code
    ).exists()
    # Once withdrawn, the unit may implement and publish the item again.
    again = draft(published.item, jinshui, department, jinshui_admin)
    actions.publish_implementation(again, actor=jinshui_admin, tenant=jinshui)


def test_a_second_published_implementation_of_an_item_is_refused_clearly(
    client, make_item, jinshui, jinshui_admin
):
    item = make_item()
    first = actions.publish_implementation(
        draft(item, jinshui, make_department(jinshui), jinshui_admin),
        actor=jinshui_admin,
        tenant=jinshui,
    )
    second = draft(item, jinshui, make_department(jinshui, "行政审批服务局"), jinshui_admin)
    with pytest.raises(ValidationError, match="本单位已发布该事项"):
        actions.publish_implementation(second, actor=jinshui_admin, tenant=jinshui)
    sign_in_with_second_factor(client, jinshui_admin)
    response = client.post(f"/api/v1/services/{second.code}/publish", HTTP_HOST=host_of(jinshui))
    assert response.status_code == 409 and first.code in response.json()["detail"]
    assert Implementation.objects.get(pk=second.pk).status == "draft"


def test_credit_code_of_a_department_with_live_items_is_kept(make_item, jinshui, jinshui_admin):
    department = make_department(jinshui)
    draft(make_item(), jinshui, department, jinshui_admin)
    with tenant_context(jinshui), pytest.raises(ValidationError, match="请先撤回"):
        update_department(department, actor=jinshui_admin, credit_code=credit_code_in(jinshui))


def test_two_units_racing_for_one_credit_code_one_wins(zhongyuan, jinshui, county_admin):
    """Jinshui registers the code in another transaction while zhongyuan's check has already
    passed: the unique index decides, and zhongyuan gets the clear message, not a 500."""
    import threading
    import time

    import psycopg
    from django.db import connection

    from tests.test_jobs import database_url

    code = credit_code_in(jinshui)
    other = psycopg.connect(database_url())
    other.execute(
        "INSERT INTO catalog_departmentregistration (credit_code, tenant_id, department_id, "
        "created_at) VALUES (%s, %s, 999999, now())",
        [code, jinshui.id],
    )

    # Commits once zhongyuan's insert waits for it on the unique index.
    def commit_when_blocked():
        with psycopg.connect(database_url(), autocommit=True) as watcher:
            for _attempt in range(3000):
                if watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                    [backend],
                ).fetchone():
                    break
                time.sleep(0.01)
        other.commit()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [backend] = cursor.fetchone()
    committer = threading.Thread(target=commit_when_blocked)
    committer.start()
    try:
        with (
            pytest.raises(ValidationError, match="已由金水区的部门登记"),
            tenant_context(zhongyuan),
        ):
            create_department(actor=county_admin, name="同号部门", credit_code=code)
        with tenant_context(zhongyuan):
            assert not Department.objects.filter(credit_code=code).exists()
    finally:
        committer.join()
        other.execute("DELETE FROM catalog_departmentregistration WHERE credit_code = %s", [code])
        other.commit()
        other.close()
