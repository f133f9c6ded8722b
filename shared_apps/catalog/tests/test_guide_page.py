"""The guide page as a citizen reads it: the key facts first, then how to apply, then the guide
and the materials (laid out for phones by the site's style sheet)."""

import re

from shared_apps.catalog import actions
from shared_apps.catalog.models import OnlineDepth
from tenants.models import Tenant
from tests.helpers import host_of


def _guide(client, service, county):
    page = client.get(f"/services/{service.code}", HTTP_HOST=host_of(county))
    assert page.status_code == 200
    return page.content.decode()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_key_facts_come_first_then_how_to_apply(client, make_item, implement, root):
    item = make_item(statutory_days=20)
    version = actions.draft_version(
        item,
        actor=root,
        legal_basis="《食品安全法》第三十五条",
        conditions="有与经营食品相适应的场所",
        process="申请、受理、审查、决定",
        statutory_days=20,
        fees=[{"item": "工本费", "rate": "10 元/件", "basis": "豫价费〔2010〕1号"}],
        in_person_visits=1,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[{"name": "申请书"}],
    )
    actions.publish_version(version, actor=root)
    county = Tenant.objects.get(code="410102000000")
    service = implement(item, county, promised_days=8, window="3 号窗口")
    body = _guide(client, service, county)

    facts = body.index('id="key-facts"')
    apply = body.index('id="apply-online"')
    guide = body.index('id="guide"')
    materials = body.index('id="materials"')
    assert body.index('id="guide-title"') < facts < apply < guide < materials
    key_facts = _text(body[facts:apply])
    for fact in ("8 个工作日", "法定办结时限 20 个工作日", "10 元/件", "1 次", "3 号窗口"):
        assert fact in key_facts, fact
    how_to_apply = _text(body[apply:guide])
    assert "在线申请" in how_to_apply
    assert f'<a href="/apply/{service.code}" id="apply-link">在线申请</a>' in body
    for detail in ("中原区政务服务中心", "3 号窗口", "工作日 9:00-17:00", "0371-12345", "网上办理"):
        assert detail in how_to_apply, detail
    # Every value of a material says what it is when the table is stacked on a phone.
    assert 'data-label="来源渠道"' in body and 'data-label="必要性"' in body


def test_a_free_service_with_no_visits_says_so(client, make_item, implement):
    county = Tenant.objects.get(code="410102000000")
    service = implement(make_item(), county)
    key_facts = _text(_guide(client, service, county).split('id="apply-online"')[0])
    assert "不收费" in key_facts and "0 次" in key_facts
