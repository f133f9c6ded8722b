"""The chain is keyed (HMAC with AUDIT_KEY over every column), one per tenant, anchored by signed
checkpoints, and neither the log nor its checkpoints can be changed, deleted or truncated: the
TRUNCATE triggers are statement-level, since row-level ones never see a TRUNCATE. Entries written
before stay on the plain SHA-256 scheme (1), in their single chain."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORBID = """
-- One round trip for a writer: wait for no checkpoint (shared gate), take the chain's lock, read
-- its newest keyed hash and draw the next id (the hash covers it). Keys as in audit/actions.py.
CREATE FUNCTION audit_chain_next(chain text, OUT prev_hash text, OUT next_id bigint) AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(4100000002);
    PERFORM pg_advisory_xact_lock(410002, hashtext(chain));
    SELECT entry_hash INTO prev_hash FROM public.audit_auditentry
    WHERE tenant_code = chain AND scheme = 2 ORDER BY id DESC LIMIT 1;
    next_id := nextval('public.audit_auditentry_id_seq');
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditentry_no_truncate
BEFORE TRUNCATE ON audit_auditentry
FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change();
CREATE TRIGGER audit_auditcheckpoint_append_only
BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
FOR EACH ROW EXECUTE FUNCTION audit_forbid_change();
CREATE TRIGGER audit_auditcheckpoint_no_truncate
BEFORE TRUNCATE ON audit_auditcheckpoint
FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change();
"""

ALLOW = """
DROP FUNCTION IF EXISTS audit_chain_next(text);
DROP TRIGGER IF EXISTS audit_auditentry_no_truncate ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_auditcheckpoint_append_only ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_truncate ON audit_auditcheckpoint;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_one_account_per_phone"),
        ("audit", "0002_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(verbose_name="time")),
                ("last_entry_id", models.BigIntegerField()),
                ("heads", models.JSONField(default=dict)),
                ("prev_signature", models.CharField(max_length=64)),
                ("signature", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name": "audit checkpoint",
                "verbose_name_plural": "audit checkpoints",
                "ordering": ["-id"],
            },
        ),
        migrations.AddField(
            model_name="auditentry",
            name="actor_client",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.systemclient",
                verbose_name="system client",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="scheme",
            field=models.PositiveSmallIntegerField(choices=[(1, "Sha256"), (2, "Hmac")], default=1),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="scheme",
            field=models.PositiveSmallIntegerField(choices=[(1, "Sha256"), (2, "Hmac")], default=2),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="actor_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["tenant_code", "id"], name="audit_chain_head"),
        ),
        migrations.RunSQL(FORBID, ALLOW),
    ]
