"""The holder's wallet (我的证照): list, download, share for a limited time, and the use log;
nobody else's licenses."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from shared_apps.audit.models import AuditEntry
from shared_apps.licenses.models import License, LicenseShare, LicenseUse
from shared_apps.licenses.tests.conftest import holder
from tenant_apps.cases import actions as cases
from tenant_apps.cases.tests.conftest import case_in

pytestmark = pytest.mark.django_db
PORTAL = settings.BASE_DOMAIN


def issued_to(citizen, people, service, tenant):
    case = case_in("decided", service, tenant, citizen)
    case = cases.deliver(case, actor=people.clerk, method="electronic")
    connection.set_schema_to_public()
    return License.objects.get(issuer_tenant=tenant, case_number=case.number)


def test_wallet_lists_downloads_and_logs(client, people, service, license_type, tenant):
    citizen = holder(people.users, name="周八")
    license = issued_to(citizen, people, service, tenant)
    client.force_login(citizen)
    page = client.get("/my/licenses/", HTTP_HOST=PORTAL).content.decode()
    assert license.identifier in page and "周八" in page
    pdf = client.get(f"/my/licenses/{license.identifier}/pdf", HTTP_HOST=PORTAL)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content == bytes(License.objects.get(pk=license.pk).pdf)
    uses = LicenseUse.objects.filter(license=license)
    assert uses.filter(kind="downloaded", by="周八").count() == 1
    assert (
        AuditEntry.objects.filter(action="licenses.downloaded", target=license.identifier).count()
        == 1
    )
    page = client.get("/my/licenses/", HTTP_HOST=PORTAL).content.decode()
    assert 'data-kind="downloaded"' in page and 'data-kind="issued"' in page


def test_another_persons_license_is_not_found(client, people, service, license_type, tenant):
    license = issued_to(holder(people.users), people, service, tenant)
    stranger = holder(people.users, name="吴九")
    client.force_login(stranger)
    assert license.identifier not in client.get("/my/licenses/", HTTP_HOST=PORTAL).content.decode()
    assert client.get(f"/my/licenses/{license.identifier}/pdf", HTTP_HOST=PORTAL).status_code == 404
    answer = client.post(f"/my/licenses/{license.identifier}/share", {"hours": 1}, HTTP_HOST=PORTAL)
    assert answer.status_code == 404
    assert not LicenseUse.objects.filter(license=license, kind="downloaded").exists()


def test_share_for_a_limited_time(client, people, service, license_type, tenant):
    citizen = holder(people.users, name="郑十")
    license = issued_to(citizen, people, service, tenant)
    client.force_login(citizen)
    answer = client.post(
        f"/my/licenses/{license.identifier}/share", {"hours": 24}, HTTP_HOST=PORTAL
    )
    code = answer.context["code"]
    assert answer.status_code == 200 and len(code) == 12
    client.logout()
    opened = client.get(f"/licenses/shared/{code}", HTTP_HOST=PORTAL)
    assert opened.status_code == 200 and "郑十" in opened.content.decode()
    assert LicenseUse.objects.filter(license=license, kind="share_opened").exists()
    LicenseShare.objects.filter(license=license).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = client.get(f"/licenses/shared/{code}", HTTP_HOST=PORTAL)
    assert expired.status_code == 404 and "郑十" not in expired.content.decode()
    assert client.get("/licenses/shared/AAAAAAAAAAAA", HTTP_HOST=PORTAL).status_code == 404
    client.force_login(citizen)
    refused = client.post(
        f"/my/licenses/{license.identifier}/share", {"hours": 100000}, HTTP_HOST=PORTAL
    )
    assert refused.status_code == 422


def test_wallet_and_signing_survive_an_identity_key_rotation(
    client, people, service, license_type, tenant, settings
):
    from shared_apps.accounts.identity import rotate_id_number_keys
    from shared_apps.licenses import actions, queries

    citizen = holder(people.users, name="王十一")
    license = issued_to(citizen, people, service, tenant)
    old_key = settings.IDENTITY_KEY
    settings.IDENTITY_KEY, settings.IDENTITY_PREVIOUS_KEYS = (
        "new-identity-key-" + "x" * 32,
        [old_key],
    )
    rotate_id_number_keys(actor="system:tests")
    last, changed = 0, 1
    while changed:
        last, changed = actions.rekey_after_identity_rotation(actor="system:tests", after_id=last)
    settings.IDENTITY_PREVIOUS_KEYS = []
    citizen.refresh_from_db()
    assert license.identifier in [x.identifier for x in queries.wallet(citizen)]
    # The unit's signing key still signs: the next license issues and verifies.
    newer = issued_to(citizen, people, service, tenant)
    assert queries.verify(newer.identifier).genuine and queries.verify(license.identifier).genuine
