"""The rectification pages (issue 14 item 2): the unit's queue and task page on its workbench, the
unit above's appeals, the citizen's report back on their case page; another unit's task is not
found, whatever id is sent."""

import pytest

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.ratings import actions
from shared_apps.ratings.models import Rectification, Step
from tenant_apps.cases.tests.conftest import case_in
from tests.helpers import host_of


@pytest.fixture
def task(people, service, tenant):
    case = case_in("delivered", service, tenant, people.citizen)
    rating = actions.rate(case, actor=people.citizen, level=5, comment="窗口推诿", channel="pc")
    return rating.rectification


def test_the_unit_verifies_and_reports_back_and_the_citizen_answers(client, people, tenant, task):
    admin = people.staff("rect-page-admin", Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    host = host_of(tenant)
    listing = client.get("/workbench/ratings", HTTP_HOST=host).content.decode()
    assert f'data-task="{task.pk}"' in listing and "非常不满意" in listing
    page = client.get(f"/workbench/ratings/{task.pk}", HTTP_HOST=host).content.decode()
    assert "窗口推诿" in page and 'id="verify-form"' in page
    assert people.citizen.username not in page and str(task.case_public_id) not in page
    empty = client.post(f"/workbench/ratings/{task.pk}/verify", {"findings": ""}, HTTP_HOST=host)
    assert empty.status_code == 400
    client.post(f"/workbench/ratings/{task.pk}/verify", {"findings": "已电话核实"}, HTTP_HOST=host)
    client.post(
        f"/workbench/ratings/{task.pk}/report_back",
        {"measures": "窗口人员培训", "report": "已整改，欢迎再次监督。"},
        HTTP_HOST=host,
    )
    task.refresh_from_db()
    assert task.step == Step.REPORTED
    client.logout()
    client.force_login(people.citizen)
    path = f"/my/cases/{task.case_public_id}"
    page = client.get(path, HTTP_HOST=host).content.decode()
    assert "已整改，欢迎再次监督。" in page and 'id="answer-form"' in page
    response = client.post(f"{path}/rating/answer", {"confirmed": "yes"}, HTTP_HOST=host)
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.step, task.confirmed) == (Step.CLOSED, True)


def test_staff_of_another_unit_find_no_task(client, people, tenant, other_tenant, task):
    stranger = people.staff("rect-page-stranger", Role.TENANT_ADMIN, tenant=other_tenant)
    sign_in_with_second_factor(client, stranger)
    other = host_of(other_tenant)
    assert client.get(f"/workbench/ratings/{task.pk}", HTTP_HOST=other).status_code == 404
    posted = client.post(
        f"/workbench/ratings/{task.pk}/verify", {"findings": "越权"}, HTTP_HOST=other
    )
    assert posted.status_code == 404
    assert client.get(f"/workbench/ratings/{task.pk}", HTTP_HOST=host_of(tenant)).status_code in (
        302,
        403,
    )
    assert Rectification.objects.get(pk=task.pk).step == Step.VERIFY


def test_the_unit_above_decides_appeals_on_its_own_site(client, people, tenant, task):
    admin = people.staff("rect-page-appealer", Role.TENANT_ADMIN)
    actions.appeal(task, actor=admin, reason="恶意差评")
    above = people.staff("rect-page-above", Role.SUPERVISOR, tenant=tenant.parent)
    sign_in_with_second_factor(client, above)
    parent_host = host_of(tenant.parent)
    page = client.get("/workbench/ratings/appeals", HTTP_HOST=parent_host).content.decode()
    assert f'data-task="{task.pk}"' in page and "恶意差评" in page
    # On the unit's own site the appeal is not the supervisor's to find.
    assert client.get("/workbench/ratings/appeals", HTTP_HOST=host_of(tenant)).status_code in (
        302,
        403,
    )
    client.post(
        f"/workbench/ratings/{task.pk}/decide",
        {"upheld": "no", "reason": "证据不足"},
        HTTP_HOST=parent_host,
    )
    task.refresh_from_db()
    assert (task.step, task.appeal_upheld) == (Step.VERIFY, False)
