"""The province-wide register of department credit codes, filled from the departments that already
exist in the tenant schemas. Where two units hold the same credit code, the department created first
keeps it; the other can implement nothing until its code is corrected."""

import django.db.models.deletion
from django.db import migrations, models


def register_existing_departments(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    found = []
    with schema_editor.connection.cursor() as cursor:
        for tenant_id, schema in Tenant.objects.filter(provisioned_at__isnull=False).values_list(
            "id", "schema_name"
        ):
            cursor.execute("SELECT to_regclass(%s)", [f'"{schema}".departments_department'])
            if cursor.fetchone()[0] is None:
                continue
            cursor.execute(
                f'SELECT created_at, id, credit_code FROM "{schema}".departments_department'
            )
            found.extend((created, tenant_id, pk, code) for created, pk, code in cursor.fetchall())
        found.sort()
        for created, tenant_id, pk, code in found:
            cursor.execute(
                "INSERT INTO catalog_departmentregistration "
                "(credit_code, tenant_id, department_id, created_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                [code, tenant_id, pk, created],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_published_guides_are_immutable"),
        ("tenants", "0002_notify_host_changes"),
    ]

    operations = [
        migrations.CreateModel(
            name="DepartmentRegistration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "credit_code",
                    models.CharField(
                        max_length=18, unique=True, verbose_name="unified social credit code"
                    ),
                ),
                ("department_id", models.BigIntegerField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="department_registrations",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "verbose_name": "department registration",
                "verbose_name_plural": "department registrations",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "department_id"), name="one_registration_per_department"
                    )
                ],
            },
        ),
        migrations.RunPython(register_existing_departments, migrations.RunPython.noop),
    ]
