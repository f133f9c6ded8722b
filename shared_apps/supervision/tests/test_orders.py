"""Supervision orders (督办), issue 11 item 6: issued from above only, answered by the target
unit's own people, closed by the issuer only, unreadable by any other unit; the sweep marks the
orders past their deadline once."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.notifications.models import Message
from shared_apps.supervision import actions, queries
from shared_apps.supervision.models import SupervisionOrder
from shared_apps.supervision.tests.test_api import staff
from tenants.models import Tenant

PORTAL = settings.BASE_DOMAIN
CITY = "410100000000"  # 郑州市, above 中原区 (the `tenant` fixture)


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("orders-root")


@pytest.fixture
def people(db, root, django_user_model, tenant, other_tenant):
    return {
        "city": staff(django_user_model, root, "o-city", CITY, Role.SUPERVISOR, subtree=True),
        "county": staff(django_user_model, root, "o-county", tenant.code, Role.TENANT_ADMIN),
        "other": staff(django_user_model, root, "o-other", other_tenant.code, Role.SUPERVISOR),
        "province": staff(
            django_user_model, root, "o-province", "410000000000", Role.SUPERVISOR, subtree=True
        ),
    }


def as_(client, user):
    client.logout()
    sign_in_with_second_factor(client, user)
    return client


def post(client, path, data):
    return client.post(
        f"/api/v1/supervision/orders{path}", data, content_type="application/json", HTTP_HOST=PORTAL
    )


def get(client, path=""):
    return client.get(f"/api/v1/supervision/orders{path}", HTTP_HOST=PORTAL)


ORDER = {"reason": "红牌办件未处理", "required_action": "三个工作日内办结并说明原因"}


@pytest.mark.django_db
def test_an_order_goes_from_the_city_to_the_county_and_back_to_closure(client, people, tenant):
    as_(client, people["city"])
    body = {**ORDER, "target": tenant.code, "working_days": 3, "request_key": str(uuid.uuid4())}
    issued = post(client, "", body)
    assert issued.status_code == 201, issued.content
    order = issued.json()
    # Sent again with its key (a retry): the same order, not a second one.
    assert post(client, "", body).json()["id"] == order["id"]
    assert SupervisionOrder.objects.filter(target_unit=tenant, reason=ORDER["reason"]).count() == 1
    assert order["issuing_unit"]["code"] == CITY and order["state"] == "issued"
    assert order["deadline"] > timezone.localdate().isoformat()
    assert [s["kind"] for s in order["steps"]] == ["issue"]
    # The county's administrator was told, with a link to the order.
    message = Message.objects.get(user=people["county"], kind="supervision_order_issued")
    assert message.link == f"/oversight/orders/{order['id']}"
    path = f"/{order['id']}"

    # The county can't close its own order; it acknowledges and reports.
    as_(client, people["county"])
    refused = post(client, f"{path}/close", {"text": "自行办结"})
    assert refused.status_code == 403 and set(refused.json()) >= {"detail", "code"}
    assert post(client, f"{path}/acknowledge", {}).json()["state"] == "acknowledged"
    assert post(client, f"{path}/report", {"text": ""}).status_code == 422
    reported = post(client, f"{path}/report", {"text": "已办结，原因系材料流转延误"})
    assert reported.json()["state"] == "reported"

    # The city returns it once, then closes it.
    as_(client, people["city"])
    assert post(client, f"{path}/reopen", {"text": "请补充说明"}).json()["state"] == "returned"
    assert Message.objects.filter(user=people["county"], kind="supervision_order_returned")
    as_(client, people["county"])
    assert post(client, f"{path}/report", {"text": "已补充"}).json()["state"] == "reported"
    as_(client, people["city"])
    closed = post(client, f"{path}/close", {"text": "整改到位"})
    assert closed.json()["state"] == "closed"
    assert [s["kind"] for s in closed.json()["steps"]] == [
        "issue",
        "acknowledge",
        "report",
        "reopen",
        "report",
        "close",
    ]
    audited = AuditEntry.objects.filter(
        action__startswith="supervision.order_", target=str(order["id"]), tenant_code=tenant.code
    )
    assert audited.count() == 6
    # Closed: nothing more to report.
    as_(client, people["county"])
    assert post(client, f"{path}/report", {"text": "再次"}).status_code == 403


@pytest.mark.django_db
def test_only_a_unit_above_issues_and_another_unit_reads_nothing(
    client, people, tenant, other_tenant
):
    # A county can't order its city, itself, or another city's county.
    as_(client, people["county"])
    for target in (CITY, tenant.code, other_tenant.code):
        refused = post(client, "", {**ORDER, "target": target, "working_days": 3})
        assert refused.status_code in (403, 404), (target, refused.content)
        assert "detail" in refused.json()
    # Naming an issuing unit one does not oversee is refused too.
    as_(client, people["other"])
    refused = post(
        client, "", {**ORDER, "target": tenant.code, "issuing_unit": CITY, "deadline": "2099-01-01"}
    )
    assert refused.status_code == 403
    assert not SupervisionOrder.objects.filter(target_unit=tenant, reason=ORDER["reason"])

    as_(client, people["province"])
    issued = post(client, "", {**ORDER, "target": tenant.code, "working_days": 5}).json()
    path = f"/{issued['id']}"
    # 鼓楼区's supervisor neither reads nor answers nor closes 中原区's order: not found.
    as_(client, people["other"])
    assert get(client, path).status_code == 404
    assert get(client, path).json()["code"] == "not_found"
    for intent in ("acknowledge", "report", "close", "reopen"):
        assert post(client, f"{path}/{intent}", {"text": "x"}).status_code == 404
    listed = client.get(f"/api/v1/supervision/orders?unit={tenant.code}", HTTP_HOST=PORTAL)
    assert listed.status_code == 403
    # The city oversees the county: it reads the province's order to it, but can't close it.
    as_(client, people["city"])
    assert get(client, path).status_code == 200
    codes = client.get(f"/api/v1/supervision/orders?unit={tenant.code}", HTTP_HOST=PORTAL)
    assert issued["id"] in [row["id"] for row in codes.json()["items"]]


@pytest.mark.django_db
def test_bad_input_is_refused_with_nothing_written(client, people, tenant):
    as_(client, people["city"])
    before = SupervisionOrder.objects.count()
    for body in (
        {**ORDER, "target": tenant.code, "reason": "含\x00字符", "working_days": 3},
        {**ORDER, "target": tenant.code, "reason": "长" * 1001, "working_days": 3},
        {**ORDER, "target": tenant.code, "deadline": "2000-01-01"},
        {**ORDER, "target": tenant.code},
        {**ORDER, "target": tenant.code, "working_days": 999},
        {**ORDER, "target": "41010200000X", "working_days": 3},
    ):
        refused = post(client, "", body)
        assert refused.status_code in (400, 422), (body, refused.content)
        assert "detail" in refused.json()
    assert SupervisionOrder.objects.count() == before


@pytest.mark.django_db
def test_the_sweep_marks_orders_past_their_deadline_once(people, tenant):
    order = actions.issue_order(
        actor=people["city"],
        issuing_unit=tenant.parent,
        target_unit=tenant,
        deadline=timezone.localdate() + timedelta(days=2),
        **ORDER,
    )
    reported = actions.issue_order(
        actor=people["city"],
        issuing_unit=tenant.parent,
        target_unit=tenant,
        deadline=timezone.localdate() + timedelta(days=2),
        **ORDER,
    )
    actions.report_order(reported, actor=people["county"], text="已整改")
    actions.mark_overdue_orders()
    assert not SupervisionOrder.objects.get(pk=order.pk).overdue  # not yet due
    later = timezone.now() + timedelta(days=3)
    assert actions.mark_overdue_orders(at=later) >= 1
    assert SupervisionOrder.objects.get(pk=order.pk).overdue
    assert not SupervisionOrder.objects.get(pk=reported.pk).overdue  # reported in time
    assert actions.mark_overdue_orders(at=later) == 0
    # A warning for the city above, none for another city.
    assert order.pk in [o.pk for o in queries.overdue_orders_below(tenant.parent)]
    kaifeng = Tenant.objects.get(code="410200000000")
    assert order.pk not in [o.pk for o in queries.overdue_orders_below(kaifeng)]
