import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions
from shared_apps.accounts.models import ConsentEvidence, ProxyConsent, Role
from shared_apps.audit.models import AuditEntry
from shared_apps.notifications.models import Delivery, Message
from tests.helpers import host_of, make_id_number

PASSWORD = "正确的马电池订书钉"


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def citizen(db):
    return actions.register_citizen(
        real_name="孙七",
        id_number=make_id_number(sequence="717"),
        phone="13500000001",
        password=PASSWORD,
    )


@pytest.fixture
def agent(root, django_user_model, tenant):
    agent = django_user_model.objects.create_user(
        "village-agent", password=PASSWORD, real_name="李代办"
    )
    actions.grant_role(actor=root, user=agent, tenant=tenant, role=Role.PROXY_AGENT)
    return agent


@pytest.fixture
def clerk(root, django_user_model, tenant):
    clerk = django_user_model.objects.create_user("hall-clerk", password=PASSWORD)
    actions.grant_role(actor=root, user=clerk, tenant=tenant, role=Role.WINDOW_CLERK)
    return clerk


def consent_body(citizen, agent, **overrides):
    return json.dumps(
        {
            "citizen_id_number": citizen.unmasked_id_number(),
            "agent_username": agent.username,
            "purpose": "代办养老保险参保登记",
            "valid_until": (timezone.now() + timedelta(days=30)).isoformat(),
            "evidence": "纸质授权书 No.0001",
            **overrides,
        }
    )


def act_for(client, citizen, tenant):
    return client.post(
        "/api/v1/proxy/act-for",
        json.dumps({"citizen_id_number": citizen.unmasked_id_number()}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )


def record(client, tenant, body):
    return client.post(
        "/api/v1/proxy/consents", body, content_type="application/json", HTTP_HOST=host_of(tenant)
    )


def test_proxy_filing_needs_the_citizens_consent(
    client, citizen, agent, clerk, tenant, other_tenant
):
    sign_in_with_second_factor(client, agent)
    refused = act_for(client, citizen, tenant)
    assert refused.status_code == 403 and "授权" in refused.json()["detail"]
    assert AuditEntry.objects.filter(
        action="accounts.proxy_refused", target=citizen.username
    ).exists()

    actions.record_consent(
        actor=clerk,
        citizen=citizen,
        agent=agent,
        tenant=tenant,
        purpose="代办养老保险参保登记",
        valid_until=timezone.now() + timedelta(days=30),
        evidence="纸质授权书 No.0001",
    )
    allowed = act_for(client, citizen, tenant)
    assert allowed.status_code == 200 and allowed.json()["purpose"] == "代办养老保险参保登记"

    # What the agent does next is recorded as done on the citizen's behalf.
    host = host_of(tenant)
    client.post("/accounts/me", {"reveal": "1"}, HTTP_HOST=host)
    entry = AuditEntry.objects.filter(action="accounts.reveal_id_number").latest("id")
    assert entry.actor == "village-agent" and entry.on_behalf_of.startswith(citizen.username)

    # On another unit's site the consent does not hold.
    client.post("/accounts/me", {"reveal": "1"}, HTTP_HOST=host_of(other_tenant))
    assert (
        AuditEntry.objects.filter(action="accounts.reveal_id_number").latest("id").on_behalf_of
        == ""
    )

    stopped = client.post("/api/v1/proxy/stop", HTTP_HOST=host)
    assert stopped.json() == {"acting_for": None, "purpose": None}
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.target, entry.tenant_code) == (
        "accounts.proxy_stop",
        citizen.username,
        tenant.code,
    )


@pytest.mark.parametrize("evidence", ["", "无", "   ", "已授权", "No.\x000001"])
def test_a_consent_without_evidence_is_refused(client, citizen, agent, clerk, tenant, evidence):
    sign_in_with_second_factor(client, clerk)
    response = record(client, tenant, consent_body(citizen, agent, evidence=evidence))
    assert response.status_code == (400 if "\x00" in evidence else 422)
    assert not ProxyConsent.objects.exists() and not Message.objects.exists()


def test_self_authorization_is_refused(client, root, citizen, tenant, django_user_model):
    """The attack: a unit administrator names themselves as agent and grants themselves the role."""
    admin = django_user_model.objects.create_user("unit-admin", password=PASSWORD)
    actions.grant_role(actor=root, user=admin, tenant=tenant, role=Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    actions.grant_role(actor=admin, user=admin, tenant=tenant, role=Role.PROXY_AGENT)

    response = record(
        client,
        tenant,
        consent_body(
            citizen, admin, evidence="纸质授权书 No.0002", valid_until="2030-01-01T00:00:00+08:00"
        ),
    )
    assert response.status_code in (403, 422)
    response = record(client, tenant, consent_body(citizen, admin, evidence="纸质授权书 No.0002"))
    assert response.status_code == 403 and "第二位工作人员" in response.json()["detail"]
    assert not ProxyConsent.objects.exists()
    assert act_for(client, citizen, tenant).status_code == 403

    # The database refuses it too, whatever code writes the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        ProxyConsent.objects.create(
            citizen=citizen,
            agent=admin,
            tenant=tenant,
            purpose="代办",
            valid_until=timezone.now() + timedelta(days=1),
            evidence="No.1",
            recorded_by=admin,
            confirmed_at=timezone.now(),
        )


def test_only_the_units_recorders_record_and_only_for_its_agents(
    root, citizen, agent, clerk, tenant, other_tenant, django_user_model
):
    from django.core.exceptions import PermissionDenied, ValidationError

    foreign_admin = django_user_model.objects.create_user("foreign-admin", password=PASSWORD)
    actions.grant_role(actor=root, user=foreign_admin, tenant=other_tenant, role=Role.TENANT_ADMIN)
    given = {
        "citizen": citizen,
        "agent": agent,
        "purpose": "代办",
        "valid_until": timezone.now() + timedelta(days=3),
        "evidence": "纸质授权书 No.0003",
    }
    with pytest.raises(PermissionDenied):
        actions.record_consent(actor=foreign_admin, tenant=tenant, **given)
    with pytest.raises(ValidationError):  # the agent works in another unit
        actions.record_consent(actor=foreign_admin, tenant=other_tenant, **given)
    # A consent recorded in one unit lets the agent file there only.
    consent = actions.record_consent(actor=clerk, tenant=tenant, **given)
    from shared_apps.accounts.queries import valid_consent

    assert valid_consent(agent=agent, citizen=citizen, tenant=tenant) == consent
    with pytest.raises(PermissionDenied):
        valid_consent(agent=agent, citizen=citizen, tenant=other_tenant)


@pytest.mark.parametrize(
    "until, status",
    [
        ("2030-01-01T00:00:00+08:00", 422),
        (timedelta(days=366), 422),
        (timedelta(days=-1), 422),
        (timedelta(days=364), 201),
    ],
)
def test_validity_is_bounded(client, citizen, agent, clerk, tenant, until, status):
    sign_in_with_second_factor(client, clerk)
    if isinstance(until, timedelta):
        until = (timezone.now() + until).isoformat()
    response = record(client, tenant, consent_body(citizen, agent, valid_until=until))
    assert response.status_code == status, response.content
    assert ProxyConsent.objects.exists() == (status == 201)


def test_citizen_is_notified_and_can_revoke_on_the_page(client, citizen, agent, clerk, tenant):
    sign_in_with_second_factor(client, clerk)
    assert record(client, tenant, consent_body(citizen, agent)).status_code == 201
    consent = ProxyConsent.objects.get()
    entry = AuditEntry.objects.filter(action="accounts.record_consent").latest("id")
    assert entry.tenant_code == tenant.code and entry.data["evidence"] == "纸质授权书 No.0001"
    [message] = Message.objects.filter(user=citizen, kind="consent_recorded")
    assert message.tenant == tenant and message.context["purpose"] == consent.purpose
    # By SMS too (the citizen has a phone, no e-mail address).
    assert list(message.deliveries.values_list("channel", "address")) == [
        (Delivery.Channel.SMS, citizen.phone)
    ]

    agent_client = type(client)()
    sign_in_with_second_factor(agent_client, agent)
    assert act_for(agent_client, citizen, tenant).status_code == 200

    client.force_login(citizen)
    page = client.get("/accounts/me", HTTP_HOST=settings.BASE_DOMAIN).content.decode()
    notices = page[page.index('id="notices"') : page.index("</ul>", page.index('id="notices"'))]
    assert "李代办" in notices and tenant.name in notices and "代办养老保险参保登记" in notices
    response = client.post(
        f"/accounts/me/consents/{consent.pk}",
        {"decision": "revoke"},
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.tenant_code) == (
        "accounts.revoke_consent",
        citizen.username,
        tenant.code,
    )
    # The agent filing under it is stopped at once, and can't start again.
    agent_client.post("/accounts/me", {"reveal": "1"}, HTTP_HOST=host_of(tenant))
    assert AuditEntry.objects.latest("id").on_behalf_of == ""
    assert act_for(agent_client, citizen, tenant).status_code == 403


def test_citizen_lists_and_revokes_through_the_api(
    client, citizen, agent, clerk, tenant, django_user_model
):
    consent = actions.record_consent(
        actor=clerk,
        citizen=citizen,
        agent=agent,
        tenant=tenant,
        purpose="代办",
        valid_until=timezone.now() + timedelta(days=3),
        evidence="纸质授权书 No.0004",
    )
    someone_else = django_user_model.objects.create_user("someone", password=PASSWORD)
    client.force_login(someone_else)
    nothing = client.get("/api/v1/me/consents", HTTP_HOST=settings.BASE_DOMAIN).json()
    assert nothing["items"] == [] and nothing["count"] == 0
    foreign = client.post(
        f"/api/v1/me/consents/{consent.pk}/revoke", HTTP_HOST=settings.BASE_DOMAIN
    )
    assert foreign.status_code == 404

    client.force_login(citizen)
    listed = client.get("/api/v1/me/consents", HTTP_HOST=settings.BASE_DOMAIN).json()["items"]
    assert [(c["id"], c["unit"], c["agent"]) for c in listed] == [
        (consent.pk, tenant.name, "李代办")
    ]
    revoked = client.post(
        f"/api/v1/me/consents/{consent.pk}/revoke", HTTP_HOST=settings.BASE_DOMAIN
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert not ProxyConsent.objects.get().is_valid()


def test_consent_for_the_citizen_to_confirm_online(client, citizen, agent, clerk, tenant):
    """Without a signed form, staff record the consent and it counts once the citizen confirms it
    online with a verified account (level 2)."""
    sign_in_with_second_factor(client, clerk)
    body = consent_body(citizen, agent, evidence="", evidence_kind=ConsentEvidence.CITIZEN_ONLINE)
    assert record(client, tenant, body).status_code == 201
    consent = ProxyConsent.objects.get()
    agent_client = type(client)()
    sign_in_with_second_factor(agent_client, agent)
    assert act_for(agent_client, citizen, tenant).status_code == 403  # not confirmed yet

    client.force_login(citizen)
    url = f"/api/v1/me/consents/{consent.pk}/confirm"
    assert client.post(url, HTTP_HOST=settings.BASE_DOMAIN).status_code == 403  # level 1
    citizen.assurance_level = 2
    citizen.save(update_fields=["assurance_level"])
    confirmed = client.post(url, HTTP_HOST=settings.BASE_DOMAIN)
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"]
    assert client.post(url, HTTP_HOST=settings.BASE_DOMAIN).status_code == 409  # once
    assert act_for(agent_client, citizen, tenant).status_code == 200


@pytest.mark.parametrize(
    "overrides, status",
    [
        ({"purpose": "代办" * 101}, 422),
        ({"purpose": "代办\x00"}, 400),  # NUL: refused by the API's JSON parser
        ({"evidence": "No." + "1" * 200}, 422),
        ({"agent_username": "village-agent\x00"}, 400),
        ({"agent_username": "a" * 10_000}, 422),  # over its bound
        ({"citizen_id_number": "4101\x00" * 1000}, 400),
    ],
)
def test_over_long_and_nul_laden_input_is_refused(
    client, citizen, agent, clerk, tenant, overrides, status
):
    sign_in_with_second_factor(client, clerk)
    assert record(client, tenant, consent_body(citizen, agent, **overrides)).status_code == status
    assert not ProxyConsent.objects.exists()


def test_a_sock_puppet_recorder_is_refused(client, root, citizen, tenant, django_user_model):
    """The attack: an administrator makes themselves agent, makes a puppet account a window clerk,
    enrols its authenticator with the link they were shown, and records a consent as the puppet."""
    from shared_apps.accounts.models import EnrolmentLink

    admin = django_user_model.objects.create_user("unit-admin", password=PASSWORD)
    actions.grant_role(actor=root, user=admin, tenant=tenant, role=Role.TENANT_ADMIN)
    actions.grant_role(actor=admin, user=admin, tenant=tenant, role=Role.PROXY_AGENT)
    puppet = django_user_model.objects.create_user("puppet", password=PASSWORD)
    actions.grant_role(actor=admin, user=puppet, tenant=tenant, role=Role.WINDOW_CLERK)
    code = actions.issue_enrolment_link(actor=admin, user=puppet, tenant=tenant)
    actions.start_totp_enrolment(actor=puppet, code=code)
    sign_in_with_second_factor(client, puppet)
    response = record(client, tenant, consent_body(citizen, admin, evidence="0000"))
    assert response.status_code == 403 and "另一位工作人员" in response.json()["detail"]
    assert not ProxyConsent.objects.exists()
    sign_in_with_second_factor(client, admin)
    assert act_for(client, citizen, tenant).status_code == 403

    # Its role granted by someone else, the puppet still has the agent's authenticator link.
    actions.revoke_role(actor=root, membership=puppet.memberships.get(role=Role.WINDOW_CLERK))
    actions.grant_role(actor=root, user=puppet, tenant=tenant, role=Role.WINDOW_CLERK)
    puppet.__dict__.pop("_roles_by_tenant", None)
    sign_in_with_second_factor(client, puppet)
    assert record(client, tenant, consent_body(citizen, admin, evidence="0001")).status_code == 403
    # A clerk the agent neither appointed nor enrolled records it.
    EnrolmentLink.objects.filter(user=puppet).update(issued_by="root")
    assert record(client, tenant, consent_body(citizen, admin, evidence="0002")).status_code == 201
