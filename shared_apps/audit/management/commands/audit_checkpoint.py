from django.core.management.base import BaseCommand, CommandError

from shared_apps.audit.checkpoints import CheckpointBusy, write_checkpoint


class Command(BaseCommand):
    help = (
        "Sign the heads of the audit chains that grew into the checkpoint table and the log (an "
        "`audit-checkpoint` line). Run it every few minutes (cron, a systemd timer, a scheduled task)."
    )

    def handle(self, *args, **options):
        try:
            checkpoint = write_checkpoint()
        except CheckpointBusy as error:
            raise CommandError(f"audit log busy, no checkpoint this time: {error}") from None
        if checkpoint is None:
            self.stdout.write("audit log empty: no checkpoint")
        else:
            self.stdout.write(
                f"checkpoint {checkpoint.id}: up to entry {checkpoint.last_entry_id}, "
                f"{len(checkpoint.heads)} chain{'' if len(checkpoint.heads) == 1 else 's'} grew"
            )
