"""The oversight pages (issue 11 item 6): the province at a glance from the portal, a city's or a
county's from its subdomain, drill-down to a case's ledger history, orders issued and answered
through the forms; a county supervisor sees no other city's units or cases, a city's
administrator its counties and townships only, and a target unit can't close its own order."""

import uuid

import pytest
from django.conf import settings

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.ledger.outbox import record_case_event
from shared_apps.supervision import relay
from shared_apps.supervision.models import SupervisionOrder
from shared_apps.supervision.tests.conftest import fake_case
from shared_apps.supervision.tests.test_api import staff
from tests.helpers import host_of

PORTAL = settings.BASE_DOMAIN
PROVINCE, CITY = "410000000000", "410100000000"


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("pages-root")


@pytest.fixture
def red_case(db, tenant):
    """A case of 中原区 gone red, in the ledger (the browser test makes one through the actions)."""
    case = fake_case(code=f"11{tenant.code[:6]}MB0000001X4000000001")
    clock = {"state": "running", "days_used": 12}
    for event, flag in (("submit", ""), ("accept", ""), ("deadline.yellow", "yellow")):
        record_case_event(
            tenant=tenant,
            case=case,
            event=event,
            from_state="",
            to_state="accepted",
            clock={**clock, "flag": flag},
        )
    record_case_event(
        tenant=tenant,
        case=case,
        event="deadline.red",
        from_state="accepted",
        to_state="accepted",
        clock={**clock, "flag": "red"},
    )
    relay.relay()
    return case


def page(client, path, host=PORTAL, **data):
    if data:
        return client.post(path, data, HTTP_HOST=host)
    return client.get(path, HTTP_HOST=host)


@pytest.mark.django_db
def test_a_provincial_supervisor_drills_down_to_a_red_case_and_orders_correction(
    client, root, django_user_model, tenant, red_case
):
    supervisor = staff(
        django_user_model, root, "p-supervisor", PROVINCE, Role.SUPERVISOR, subtree=True
    )
    sign_in_with_second_factor(client, supervisor)
    province = page(client, "/oversight/")
    assert province.status_code == 200
    text = province.content.decode()
    assert f'data-unit="{CITY}" data-warning="red"' in text
    # The worst first: 郑州市 (a red case) before any city without warnings.
    rows = [line for line in text.splitlines() if "data-unit=" in line]
    assert 'data-warning="red"' in rows[0]
    city = page(client, f"/oversight/units/{CITY}").content.decode()
    assert f'data-unit="{tenant.code}" data-warning="red"' in city
    county = page(client, f"/oversight/units/{tenant.code}").content.decode()
    assert str(red_case.public_id) in county and red_case.number in county
    # A case seen from above: its ledger history, and (the supervisor's role covers 中原区, so
    # the workbench lets them read it) a link to the case in the county's own workbench.
    case_page = page(client, f"/oversight/cases/{red_case.public_id}")
    assert case_page.status_code == 200
    body = case_page.content.decode()
    assert "deadline.red" in body and 'id="case-flag" class="flag-red"' in body
    workbench = f"http://{host_of(tenant)}/workbench/cases/{red_case.public_id}"
    assert f'id="workbench-link" href="{workbench}"' in body
    form = {
        "target": tenant.code,
        "case": str(red_case.public_id),
        "key": str(uuid.uuid4()),
        "reason": "红牌办件",
        "required_action": "三个工作日内办结",
        "working_days": "3",
    }
    issued = page(client, "/oversight/orders/new", **form)
    assert issued.status_code == 302
    # The same form sent again (a double click) issues no second order.
    assert page(client, "/oversight/orders/new", **form)["Location"] == issued["Location"]
    order = SupervisionOrder.objects.get(case_public_id=red_case.public_id)
    assert order.issuing_unit.code == PROVINCE and order.case_number == red_case.number
    assert issued["Location"] == f"/oversight/orders/{order.pk}"
    # NUL or overlong input: a clear error and nothing written.
    for reason in ("含\x00字符", "长" * 1001):
        refused = page(
            client,
            "/oversight/orders/new",
            target=tenant.code,
            key=str(uuid.uuid4()),
            reason=reason,
            required_action="x",
            working_days="3",
        )
        assert refused.status_code == 400
    assert SupervisionOrder.objects.filter(target_unit=tenant).count() == 1


@pytest.mark.django_db
def test_a_county_supervisor_cant_see_another_citys_units(
    client, root, django_user_model, tenant, other_tenant, red_case
):
    gulou = staff(django_user_model, root, "gl-supervisor", other_tenant.code, Role.SUPERVISOR)
    sign_in_with_second_factor(client, gulou)
    # On the portal, its widest unit is its county; 郑州市 and 中原区 are not found.
    assert other_tenant.name in page(client, "/oversight/").content.decode()
    for path in (
        f"/oversight/units/{CITY}",
        f"/oversight/units/{tenant.code}",
        f"/oversight/units/{PROVINCE}",
        f"/oversight/units/{other_tenant.parent.code}",
        f"/oversight/cases/{red_case.public_id}",
    ):
        assert page(client, path).status_code == 404, path
        assert page(client, path, host_of(other_tenant)).status_code == 404, path
    # On another unit's subdomain: refused outright.
    for path in ("/oversight/", "/oversight/orders", f"/oversight/units/{tenant.code}"):
        assert page(client, path, host_of(tenant)).status_code == 403, path


@pytest.mark.django_db
def test_a_city_administrator_sees_its_counties_and_townships_only(
    client, root, django_user_model, tenant, other_tenant, red_case
):
    from tenants.models import Tenant

    admin = staff(django_user_model, root, "zz-pages", CITY, Role.TENANT_ADMIN, subtree=True)
    sign_in_with_second_factor(client, admin)
    home = page(client, "/oversight/").content.decode()
    assert f'data-unit="{tenant.code}"' in home and 'data-unit="410200000000"' not in home
    township = Tenant.objects.filter(parent=tenant).order_by("code").first()
    on_city_host = host_of(tenant.parent)
    assert page(client, f"/oversight/units/{township.code}", on_city_host).status_code == 200
    assert page(client, f"/oversight/units/{tenant.code}").status_code == 200
    assert page(client, f"/oversight/cases/{red_case.public_id}", on_city_host).status_code == 200
    for path in (f"/oversight/units/{other_tenant.code}", f"/oversight/units/{PROVINCE}"):
        assert page(client, path).status_code == 404
        assert page(client, path, on_city_host).status_code == 404
    # Seen from the county's subdomain, the city is not below: not found.
    assert page(client, f"/oversight/units/{CITY}", host_of(tenant)).status_code == 404


@pytest.mark.django_db
def test_the_target_answers_on_its_subdomain_and_cant_close_its_own_order(
    client, root, django_user_model, tenant, other_tenant
):
    from datetime import timedelta

    from django.utils import timezone

    from shared_apps.supervision import actions

    city = staff(django_user_model, root, "zz-orders", CITY, Role.SUPERVISOR, subtree=True)
    county = staff(django_user_model, root, "zy-orders", tenant.code, Role.TENANT_ADMIN)
    gulou = staff(django_user_model, root, "gl-orders", other_tenant.code, Role.TENANT_ADMIN)
    order = actions.issue_order(
        actor=city,
        issuing_unit=tenant.parent,
        target_unit=tenant,
        reason="窗口超时受理",
        required_action="整改并书面报告",
        deadline=timezone.localdate() + timedelta(days=7),
    )
    home = host_of(tenant)
    sign_in_with_second_factor(client, county)
    listed = page(client, "/oversight/orders", home).content.decode()
    assert f'data-order="{order.pk}"' in listed
    address = f"/oversight/orders/{order.pk}"
    shown = page(client, address, home).content.decode()
    assert 'data-intent="acknowledge"' in shown and 'data-intent="close"' not in shown
    page(client, address, home, intent="acknowledge", text="")
    page(client, address, home, intent="report", text="已整改")
    page(client, address, home, intent="close", text="自行办结")
    order.refresh_from_db()
    assert order.state == SupervisionOrder.State.REPORTED
    # Another unit's people: not found, on their host or this one.
    client.logout()
    sign_in_with_second_factor(client, gulou)
    assert page(client, address, host_of(other_tenant)).status_code == 404
    assert page(client, address, home).status_code == 403
    assert page(client, address).status_code == 404
    # The issuer closes it, from the city's subdomain.
    client.logout()
    sign_in_with_second_factor(client, city)
    closing = page(client, address, host_of(tenant.parent), intent="close", text="整改到位")
    assert closing.status_code == 302
    order.refresh_from_db()
    assert order.state == SupervisionOrder.State.CLOSED
