"""Former subdomains (corrected misreadings) that redirect to the unit's subdomain. Changes notify
the host map's listeners like changes to tenants and their hostnames (0002)."""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "tenants_subdomainalias"


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_remember_status_before_retirement"),
    ]

    operations = [
        migrations.CreateModel(
            name="SubdomainAlias",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "subdomain",
                    models.CharField(max_length=63, unique=True, verbose_name="former subdomain"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="replaced at")),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="subdomain_aliases",
                        to="tenants.tenant",
                        verbose_name="administrative unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "former subdomain",
                "verbose_name_plural": "former subdomains",
                "ordering": ["subdomain"],
            },
        ),
        migrations.RunSQL(
            f"""
            CREATE TRIGGER {TABLE}_notify_hosts_changed
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION tenants_notify_hosts_changed();
            """,
            f"DROP TRIGGER IF EXISTS {TABLE}_notify_hosts_changed ON {TABLE};",
        ),
    ]
