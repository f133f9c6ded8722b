"""Who sees which figures (issue 11): the province's administrators every unit, a city's
administrator the city's units only, a county's supervisor not another city's; 办件公示 for
everyone, without personal data, on the portal and each unit's subdomain."""

import pytest
from django.conf import settings

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.ledger.outbox import record_case_event
from shared_apps.supervision import relay
from shared_apps.supervision.tests.conftest import fake_case
from tenants.models import Tenant
from tests.helpers import host_of

PORTAL = settings.BASE_DOMAIN


@pytest.fixture
def ledgered(db, tenant, other_tenant):
    """Two cases in 中原区 (郑州市), one in 鼓楼区 (开封市), ledgered."""
    for unit, events in (
        (tenant, ["submit", "accept"]),
        (tenant, ["submit"]),
        (other_tenant, ["submit", "decide"]),
    ):
        case = fake_case(code=f"11{unit.code[:6]}MB0000001X4000000001")
        for event in events:
            record_case_event(
                tenant=unit, case=case, event=event, from_state="", to_state="", clock={}
            )
    relay.relay()


def staff(django_user_model, root, name, code, role, *, subtree=False):
    user = django_user_model.objects.create_user(name)
    unit = Tenant.objects.get(code=code)
    membership = accounts.grant_role(actor=root, user=user, tenant=unit, role=role)
    if subtree:
        type(membership).objects.filter(pk=membership.pk).update(covers_subtree=True)
    return user


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("supervision-root")


def get(client, path, host=PORTAL):
    return client.get(f"/api/v1{path}", HTTP_HOST=host)


@pytest.mark.django_db
def test_a_county_supervisor_sees_their_county_and_not_another_citys(
    client, ledgered, root, django_user_model, tenant, other_tenant
):
    supervisor = staff(django_user_model, root, "zy-supervisor", tenant.code, Role.SUPERVISOR)
    sign_in_with_second_factor(client, supervisor)
    own = get(client, "/supervision/summary")
    assert own.status_code == 200, own.content
    assert own.json()["unit"]["code"] == tenant.code
    assert own.json()["figures"]["received"] >= 2
    for path in (
        f"/supervision/summary?unit={other_tenant.code}",
        f"/supervision/units?unit={other_tenant.parent.code}",
        f"/supervision/breakdown?unit={other_tenant.code}",
        f"/supervision/units/{other_tenant.code}/entries",
        "/supervision/summary?unit=410000000000",
        f"/supervision/summary?unit={tenant.parent.code}",
    ):
        refused = get(client, path)
        assert refused.status_code == 403, (path, refused.content)
        assert "received" not in refused.content.decode()


@pytest.mark.django_db
def test_a_city_administrator_sees_the_citys_units_only(
    client, ledgered, root, django_user_model, tenant, other_tenant
):
    admin = staff(
        django_user_model, root, "zz-admin", "410100000000", Role.TENANT_ADMIN, subtree=True
    )
    sign_in_with_second_factor(client, admin)
    city = get(client, "/supervision/summary").json()
    assert city["unit"]["code"] == "410100000000"
    below = get(client, "/supervision/units?page_size=100").json()
    codes = {row["unit"]["code"]: row["figures"] for row in below["items"]}
    assert tenant.code in codes and codes[tenant.code]["received"] >= 2
    assert all(code.startswith("4101") for code in codes)
    assert sum(f["received"] for f in codes.values()) == city["figures"]["received"]
    county = get(client, f"/supervision/summary?unit={tenant.code}")
    assert county.status_code == 200
    entries = get(client, f"/supervision/units/{tenant.code}/entries")
    assert entries.status_code == 200 and entries.json()["count"] >= 3
    assert AuditEntry.objects.filter(action="supervision.entries_read").exists()
    assert get(client, f"/supervision/summary?unit={other_tenant.code}").status_code == 403
    assert get(client, f"/supervision/units/{other_tenant.code}/entries").status_code == 403


@pytest.mark.django_db
def test_the_province_sees_every_city(client, ledgered, root, django_user_model):
    admin = staff(
        django_user_model, root, "ha-admin", "410000000000", Role.SUPERVISOR, subtree=True
    )
    sign_in_with_second_factor(client, admin)
    province = get(client, "/supervision/summary").json()
    assert province["unit"]["level"] == "province"
    cities = get(client, "/supervision/units?page_size=100").json()["items"]
    assert {"410100000000", "410200000000"} <= {row["unit"]["code"] for row in cities}
    assert sum(r["figures"]["received"] for r in cities) == province["figures"]["received"]
    by_item = get(client, "/supervision/breakdown?by=item").json()
    assert by_item["count"] >= 2
    by_department = get(client, "/supervision/breakdown?by=department").json()
    assert by_department["items"][0]["department_name"] == "市场监管局"


@pytest.mark.django_db
def test_without_a_second_factor_or_signed_out_nothing_is_shown(
    client, ledgered, root, django_user_model
):
    assert get(client, "/supervision/summary").status_code in (401, 403)
    admin = staff(
        django_user_model, root, "nofactor", "410000000000", Role.SUPERVISOR, subtree=True
    )
    client.force_login(admin)
    assert get(client, "/supervision/summary").status_code == 403
    assert get(client, "/supervision/summary?unit=41%00").status_code in (400, 403, 422)


@pytest.mark.django_db
def test_published_statistics_have_counts_and_no_personal_data(client, ledgered, tenant):
    units = get(client, "/statistics/units?page_size=100").json()
    row = next(r for r in units["items"] if r["unit"]["code"] == tenant.code)
    assert row["received"] >= 2
    items = get(client, f"/statistics/units/{tenant.code}/items").json()
    assert items["count"] >= 1 and "item_name" in items["items"][0]
    portal = client.get("/statistics", HTTP_HOST=PORTAL)
    assert portal.status_code == 200
    page = portal.content.decode()
    assert tenant.name in page and "/statistics" in page
    unit_page = client.get("/statistics", HTTP_HOST=host_of(tenant))
    assert unit_page.status_code == 200
    text = unit_page.content.decode()
    assert "食品经营许可" in text
    for personal in ("applicant", "case_number", "MB0000001X400000000100"):
        assert personal not in text
    assert client.get("/statistics?page=999", HTTP_HOST=PORTAL).status_code == 200
