"""Test set-up shared by every package: a small province, imported and provisioned once per run
through the same code paths as production (commands, fast provisioning), committed so that worker
processes see it too. Set-up runs as the owner role, the tests as the application role."""

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
        cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [role])
        assert cursor.fetchone()[0], (
            f"The tests run as {role}: GRANT {role} TO the role of DATABASE_URL (README, "
            "'Database roles')."
        )
    assert grant_application_role()


# Migrating tenant schemas is the owner role's work.
OWNER_MODULES = {"tenants/tests/test_schema_migrations.py"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "database_owner: run as the owner role (migrations, an attacker with the owner's rights) "
        "rather than the application role",
    )


@pytest.fixture(autouse=True)
def _as_application_role(request):
    """Code under test uses the database as the application role, as the web server and the
    workers do, unless marked `database_owner`. The role is set inside the test's transaction, so
    its rollback resets it."""
    database = {"db", "transactional_db"} & set(request.fixturenames)
    module = request.node.path.relative_to(request.config.rootpath).as_posix()
    if not database or module in OWNER_MODULES or request.node.get_closest_marker("database_owner"):
        yield
        return
    from django.conf import settings

    request.getfixturevalue(database.pop())
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}")
    yield
    if connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.fixture(autouse=True)
def _back_to_public():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_home_figures():
    """The home pages keep province-wide figures per process: each test starts without them."""
    from tenants.home import shared

    shared.clear()


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
