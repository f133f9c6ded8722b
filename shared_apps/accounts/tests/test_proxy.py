import json
from datetime import timedelta

from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from tests.helpers import host_of, make_id_number

PASSWORD = "正确的马电池订书钉"


def test_proxy_filing_needs_the_citizens_consent(client, django_user_model, tenant):
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    citizen = actions.register_citizen(
        real_name="孙七",
        id_number=make_id_number(sequence="717"),
        phone="13500000001",
        password=PASSWORD,
    )
    agent = django_user_model.objects.create_user("village-agent", password=PASSWORD)
    actions.grant_role(actor=root, user=agent, tenant=tenant, role=Role.PROXY_AGENT)
    sign_in_with_second_factor(client, agent)
    host = host_of(tenant)
    body = json.dumps({"citizen_id_number": citizen.unmasked_id_number()})

    refused = client.post(
        "/api/v1/proxy/act-for", body, content_type="application/json", HTTP_HOST=host
    )
    assert refused.status_code == 403 and "授权" in refused.json()["detail"]
    assert AuditEntry.objects.filter(
        action="accounts.proxy_refused", target=citizen.username
    ).exists()

    clerk = django_user_model.objects.create_user("hall-clerk", password=PASSWORD)
    actions.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
    actions.record_consent(
        citizen=citizen,
        agent=agent,
        purpose="代办养老保险参保登记",
        valid_until=timezone.now() + timedelta(days=30),
        evidence="纸质授权书 No.0001",
        recorded_by=clerk,
    )
    allowed = client.post(
        "/api/v1/proxy/act-for", body, content_type="application/json", HTTP_HOST=host
    )
    assert allowed.status_code == 200 and allowed.json()["purpose"] == "代办养老保险参保登记"

    # What the agent does next is recorded as done on the citizen's behalf.
    client.post("/accounts/me", {"reveal": "1"}, HTTP_HOST=host)
    entry = AuditEntry.objects.filter(action="accounts.reveal_id_number").latest("id")
    assert entry.actor == "village-agent" and entry.on_behalf_of.startswith(citizen.username)
