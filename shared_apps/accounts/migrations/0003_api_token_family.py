import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_one_account_per_phone")]

    operations = [
        migrations.AddField(
            model_name="apitoken", name="family", field=models.UUIDField(null=True)
        ),
        # Tokens issued before families existed: each one its own family.
        migrations.RunSQL(
            "UPDATE accounts_apitoken SET family = gen_random_uuid() WHERE family IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="family",
            field=models.UUIDField(db_index=True, default=uuid.uuid4),
        ),
    ]
