"""Two clerks pressing a button of the workbench on the same case at the same moment, and one
clerk's double click sent twice at once: each request in its own thread and connection, as two
server threads would run them (see test_races.py for why these commit)."""

import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from conftest import sign_in_with_second_factor
from tenant_apps.cases import actions
from tenant_apps.cases.models import Case, CaseEvent
from tenant_apps.cases.tests.test_races import _committed, _draft, _race, _world
from tests.helpers import host_of


def _signed_in_sessions(clerks) -> list[str]:
    return [
        sign_in_with_second_factor(Client(), clerk).cookies[settings.SESSION_COOKIE_NAME].value
        for clerk in clerks
    ]


def _press(tenant, session, path, fields):
    def job():
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = session
        response = client.post(path, fields, HTTP_HOST=host_of(tenant))
        return response.status_code, response.content.decode()

    return job


def _submitted(django_db_blocker):
    tenant, service, citizen, clerks = _world(django_db_blocker)
    case = _committed(
        django_db_blocker,
        lambda: actions.submit(_draft(tenant, service, citizen), actor=citizen),
    )
    sessions = _committed(django_db_blocker, lambda: _signed_in_sessions(clerks))
    return tenant, case, sessions


def _steps(django_db_blocker, tenant, case):
    def read():
        connection.set_tenant(tenant)
        return (
            list(
                CaseEvent.objects.filter(case_id=case.pk)
                .exclude(intent__in=["save_draft", "submit"])
                .values_list("intent", flat=True)
            ),
            Case.objects.get(pk=case.pk).state,
        )

    return _committed(django_db_blocker, read)


@pytest.mark.django_db
def test_two_clerks_pressing_at_once_one_wins_the_other_is_told(django_db_blocker):
    tenant, case, sessions = _submitted(django_db_blocker)
    path = f"/workbench/cases/{case.public_id}/"
    outcomes = _race(
        django_db_blocker,
        [
            _press(tenant, sessions[0], path + "accept", {"idempotency_key": str(uuid.uuid4())}),
            _press(
                tenant,
                sessions[1],
                path + "reject",
                {"idempotency_key": str(uuid.uuid4()), "reasons": "不属于本机关职权范围"},
            ),
        ],
    )
    statuses = sorted(status for status, _page in outcomes)
    assert statuses == [302, 409], outcomes
    [lost] = [page for status, page in outcomes if status == 409]
    steps, state = _steps(django_db_blocker, tenant, case)
    assert len(steps) == 1 and state in ("accepted", "not_accepted")
    # The loser reads, in Chinese, what happened, and keeps what they typed.
    assert "刷新" in lost and ("已受理" in lost or "不予受理" in lost)
    if steps == ["accept"]:
        assert "不属于本机关职权范围" in lost


@pytest.mark.django_db
def test_a_double_click_arriving_twice_at_once_applies_once(django_db_blocker):
    tenant, case, sessions = _submitted(django_db_blocker)
    fields = {"idempotency_key": str(uuid.uuid4())}
    path = f"/workbench/cases/{case.public_id}/accept"
    outcomes = _race(
        django_db_blocker,
        [_press(tenant, sessions[0], path, fields), _press(tenant, sessions[0], path, fields)],
    )
    assert [status for status, _page in outcomes] == [302, 302], outcomes
    assert _steps(django_db_blocker, tenant, case) == (["accept"], "accepted")
