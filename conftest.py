"""Test set-up shared by every package: a small province, imported and provisioned once per run
through the same code paths as production (commands, fast provisioning), committed so that worker
processes see it too."""

import pytest
from django.db import connection

from tests.helpers import SAMPLE_DIVISIONS


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from tenants import provisioning
    from tenants.divisions.importer import import_divisions, read_division_file
    from tenants.hosts import host_map

    # pytest-django creates test databases only when a collected test uses one.
    if not connection.settings_dict["NAME"].startswith("test_"):
        yield
        return
    with django_db_blocker.unblock():
        import_divisions(
            read_division_file(SAMPLE_DIVISIONS),
            actor="system:tests",
            source=SAMPLE_DIVISIONS.name,
        )
        failed = [o for o in provisioning.provision(processes=1) if not o.ok]
        assert not failed, failed
        _ensure_application_role()
    yield
    host_map.stop_listener()
    # Connections of other threads (the browser tests' server, the host listener) would keep the
    # test database from being dropped.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _ensure_application_role():
    """The application's database role exists on the server (`.ci/run` and `./dev start` create
    it; on a developer's server the tests do) with the grants migrations give it."""
    from django.conf import settings

    from shared_apps.audit.roles import grant_application_role

    role = settings.DATABASE_APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if not cursor.fetchone():
            name = connection.ops.quote_name(role)
            cursor.execute(
                f"DO $$ BEGIN CREATE ROLE {name} LOGIN; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
    assert grant_application_role()


@pytest.fixture(autouse=True)
def _back_to_public():
    yield
    connection.set_schema_to_public()


@pytest.fixture
def tenant(db):
    """A county (中原区) of the sample province."""
    from tenants.models import Tenant

    return Tenant.objects.get(code="410102000000")


@pytest.fixture
def other_tenant(db):
    """A county of another city (鼓楼区, 开封市)."""
    from tenants.models import Tenant

    return Tenant.objects.get(code="410204000000")


def sign_in_with_second_factor(client, user):
    """Sign a staff member in as the sign-in page does, second factor included."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(
        user=user, confirmed=True
    ).first() or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def provincial_admin(db, django_user_model):
    return django_user_model.objects.create_superuser(
        "province-admin", "admin@example.gov.cn", "correct horse battery"
    )
