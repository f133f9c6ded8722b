from django.core.management.base import BaseCommand

from shared_apps.audit.actions import write_checkpoint


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head into the checkpoint table and the log (an `audit-checkpoint` "
        "line). Run it every few minutes (cron, a systemd timer, a scheduled task)."
    )

    def handle(self, *args, **options):
        checkpoint = write_checkpoint()
        if checkpoint is None:
            self.stdout.write("audit log empty: no checkpoint")
        else:
            self.stdout.write(
                f"checkpoint {checkpoint.id}: entry {checkpoint.last_entry_id} "
                f"{checkpoint.last_entry_hash}"
            )
