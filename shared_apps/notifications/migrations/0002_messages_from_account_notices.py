from django.db import migrations
from django.utils import timezone


def copy_notices(apps, schema_editor):
    """The inbox notices of accounts (consents recorded in a person's name) become messages,
    with the words they showed taken from their consent, unread."""
    Notice = apps.get_model("accounts", "Notice")
    Message = apps.get_model("notifications", "Message")
    for notice in Notice.objects.select_related(
        "consent__agent", "consent__tenant", "consent__recorded_by"
    ).order_by("id"):
        consent = notice.consent

        def name(user):
            return user.real_name or user.username

        context = {
            "recorder": name(consent.recorded_by) if consent else "—",
            "unit": consent.tenant.name if consent and consent.tenant else "—",
            "agent": name(consent.agent) if consent else "—",
            "purpose": consent.purpose if consent else "—",
            "until": timezone.localtime(consent.valid_until).strftime("%Y-%m-%d")
            if consent
            else "—",
        }
        message = Message.objects.create(
            user_id=notice.user_id,
            kind=notice.kind,
            context=context,
            link="/accounts/me",
            tenant_id=consent.tenant_id if consent else None,
            sent_by=consent.recorded_by.username if consent else "system:migration",
        )
        Message.objects.filter(pk=message.pk).update(created_at=notice.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("accounts", "0005_merge_token_families_and_consents"),
    ]

    operations = [migrations.RunPython(copy_notices, migrations.RunPython.noop)]
