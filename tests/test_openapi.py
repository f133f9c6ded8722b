import pytest

from tenants.management.commands.export_openapi import APIS, OPENAPI_DIR, render


@pytest.mark.parametrize("name", sorted(APIS))
def test_checked_openapi_document_matches_the_code(name):
    checked = (OPENAPI_DIR / name).read_text(encoding="utf-8")
    assert render(name) == checked, (
        f"docs/openapi/{name} is out of date: run `python manage.py export_openapi` and commit it"
    )
