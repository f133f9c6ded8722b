"""The license catalog in the provincial admin: a type added there goes through its action (one
`licenses.type_saved` entry besides the admin's own); licenses and keys are read-only there."""

import json

import pytest
from django.conf import settings

from conftest import sign_in_with_second_factor
from shared_apps.audit.models import AuditEntry
from shared_apps.catalog.models import BasicItem
from shared_apps.licenses.models import LicenseType

pytestmark = pytest.mark.django_db


def test_license_type_added_in_the_admin_goes_through_its_action(
    client, root, service, license_type
):
    sign_in_with_second_factor(client, root)
    item = BasicItem.objects.get(pk=service.item_id)
    answer = client.post(
        "/admin/licenses/licensetype/add/",
        {
            "code": "ADMIN01",
            "name": "结婚证",
            "issuing_level": 4,
            "fields_schema": json.dumps({"type": "object"}),
            "validity_years": "",
            "stands_for": json.dumps(["结婚证"]),
            "items": [item.pk],
        },
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    added = LicenseType.objects.get(code="ADMIN01")
    assert list(added.items.all()) == [item] and added.stands_for == ["结婚证"]
    assert AuditEntry.objects.filter(action="licenses.type_saved", target="ADMIN01").count() == 1
    page = client.get("/admin/licenses/license/", HTTP_HOST=settings.BASE_DOMAIN)
    assert page.status_code == 200
    assert (
        client.get("/admin/licenses/signingkey/add/", HTTP_HOST=settings.BASE_DOMAIN).status_code
        == 403
    )
