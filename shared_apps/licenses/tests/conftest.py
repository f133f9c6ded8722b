import itertools

import pytest
from django.db import connection

from shared_apps.accounts.identity import encrypt_id_number, id_number_digest, mask_id_number
from shared_apps.catalog.models import BasicItem
from shared_apps.licenses import actions
from tenant_apps.cases.tests import conftest as cases_fixtures
from tests.helpers import make_id_number

FIELDS = {
    "type": "object",
    "properties": {"shop_name": {"type": "string", "maxLength": 20}},
    "required": ["shop_name"],
}
# The case tests' fixtures: people, a published service, a superuser.
people, service, root = cases_fixtures.people, cases_fixtures.service, cases_fixtures.root
_types = itertools.count(1)
_people = itertools.count(300)


def holder(users, name="李四"):
    """A citizen with an ID number on file (set directly: registration hashes a password)."""
    sequence = f"{next(_people):03d}"
    number = make_id_number(sequence=sequence)
    return users.objects.create_user(
        f"licence-holder-{sequence}",
        real_name=name,
        id_number_digest=id_number_digest(number),
        id_number_masked=mask_id_number(number),
        id_number_encrypted=encrypt_id_number(number),
    )


def make_type(superuser, published, *, validity_years=5, stands_for=("营业执照",)):
    connection.set_schema_to_public()
    item = BasicItem.objects.get(pk=published.item_id)
    return actions.save_license_type(
        actor=superuser,
        code=f"1141{next(_types):05d}TEST",
        name="食品经营许可证",
        issuing_level=4,
        fields_schema=FIELDS,
        validity_years=validity_years,
        stands_for=list(stands_for),
        item_codes=[item.code],
    )


@pytest.fixture
def license_type(root, service):  # noqa: F811
    return make_type(root, service)
