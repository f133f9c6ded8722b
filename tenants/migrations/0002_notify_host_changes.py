"""Every change to tenants or their hostnames notifies the listeners in tenants.hosts."""

from django.db import migrations

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION tenants_notify_hosts_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('tenant_hosts_changed', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = [
    f"""
    CREATE TRIGGER {table}_notify_hosts_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION tenants_notify_hosts_changed();
    """
    for table in ("tenants_tenant", "tenants_domain")
]


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(
            NOTIFY_FUNCTION,
            "DROP FUNCTION IF EXISTS tenants_notify_hosts_changed() CASCADE;",
        ),
        *[
            migrations.RunSQL(
                sql, f"DROP TRIGGER IF EXISTS {table}_notify_hosts_changed ON {table};"
            )
            for sql, table in zip(TRIGGERS, ("tenants_tenant", "tenants_domain"), strict=True)
        ],
    ]
