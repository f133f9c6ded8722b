"""Published rating statistics (issue 14 item 5, ratings part): per unit and item, ratings by
level, the share satisfied and rectifications on time, read from the summaries; the province's
ranking (page and API) equals a recount and carries no personal data."""

from django.conf import settings
from django.db.models import Count

from shared_apps.ratings import actions
from shared_apps.ratings.models import Rating, Rectification
from tenant_apps.cases.tests.conftest import case_in, publish_service

PORTAL = {"HTTP_HOST": settings.BASE_DOMAIN}


def _rate(people, service, tenant, level):
    case = case_in("delivered", service, tenant, people.citizen)
    return actions.rate(
        case, actor=people.citizen, level=level, comment="差" if level > 3 else "", channel="pc"
    )


def test_the_ranking_equals_a_recount_without_personal_data(client, people, root, tenant):
    service = publish_service(root, tenant)
    admin = people.staff("stats-admin", "tenant_admin")
    for level in (1, 2, 3, 5):
        _rate(people, service, tenant, level)
    task = Rectification.objects.filter(rating__implementation_code=service.code).get()
    task = actions.verify(task, actor=admin, findings="核实")
    actions.report_back(task, actor=admin, measures="整改", report="已整改")
    body = client.get("/api/v1/statistics/ratings/units?page_size=100", **PORTAL).json()
    [mine] = [u for u in body["items"] if u["code"] == tenant.code]
    by_level = dict(
        Rating.objects.filter(tenant=tenant).values_list("level").annotate(n=Count("id"))
    )
    recount = [by_level.get(n, 0) for n in range(1, 6)]
    figures = mine["figures"]
    assert [figures[f"level_{n}"] for n in range(1, 6)] == recount
    assert figures["total"] == sum(recount)
    assert figures["satisfied_share"] == sum(recount[:3]) / sum(recount)
    rectified = Rectification.objects.filter(tenant=tenant, reported_at__isnull=False)
    assert figures["rectified"] == rectified.count()
    assert figures["rectified_on_time"] == rectified.filter(on_time=True).count()
    shares = [u["figures"]["satisfied_share"] for u in body["items"]]
    keys = [(share is None, -(share or 0)) for share in shares]
    assert keys == sorted(keys)  # the most satisfied first, units without ratings last
    assert [u["rank"] for u in body["items"]] == list(range(1, len(body["items"]) + 1))
    text = str(body)
    assert people.citizen.username not in text and "差" not in text
    items = client.get(f"/api/v1/statistics/ratings/units/{tenant.code}/items", **PORTAL).json()
    [item] = [i for i in items["items"] if i["implementation_code"] == service.code]
    assert [item["figures"][f"level_{n}"] for n in range(1, 6)] == [1, 1, 1, 0, 1]
    assert (item["figures"]["satisfied_share"], item["figures"]["on_time_share"]) == (0.75, 1.0)
    assert (
        client.get("/api/v1/statistics/ratings/units/999999999999/items", **PORTAL).status_code
        == 404
    )


def test_the_ranking_of_a_city_holds_its_units_only(client, people, root, tenant, other_tenant):
    _rate(people, publish_service(root, tenant), tenant, 1)
    _rate(people, publish_service(root, other_tenant), other_tenant, 1)
    city = tenant.code[:4] + "00000000"
    body = client.get(f"/api/v1/statistics/ratings/units?within={city}", **PORTAL).json()
    codes = {u["code"] for u in body["items"]}
    assert tenant.code in codes and other_tenant.code not in codes
    assert client.get("/api/v1/statistics/ratings/units?within=41x", **PORTAL).status_code == 422


def test_the_ranking_page(client, people, root, tenant):
    service = publish_service(root, tenant)
    _rate(people, service, tenant, 2)
    page = client.get("/statistics/ratings", **PORTAL).content.decode()
    assert 'id="rating-ranking"' in page and f'data-unit="{tenant.code}"' in page
    assert "满意率" in page and people.citizen.username not in page
    items = client.get(f"/statistics/ratings/{tenant.code}", **PORTAL).content.decode()
    assert f'data-item="{service.code}"' in items
    assert client.get("/statistics/ratings/000000000000", **PORTAL).status_code == 404
