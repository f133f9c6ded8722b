import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shared_apps.accounts.identity import UnreadableIdNumber, rotate_id_number_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored ID number and re-key its lookup digest under the current "
        "IDENTITY_KEY (the former ones in IDENTITY_PREVIOUS_KEYS). Resumable: run it again after "
        "an interruption; remove the former keys once it has finished."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        if not settings.IDENTITY_PREVIOUS_KEYS:
            raise CommandError(
                "IDENTITY_PREVIOUS_KEYS is empty: there is no former key to rotate from."
            )

        def progress(last_id, changed):
            if sys.stdout.isatty() or options["verbosity"] > 1:
                self.stdout.write(f"up to user {last_id}: {changed} re-encrypted")

        try:
            changed = rotate_id_number_keys(
                actor="system:rotate_identity_key", batch_size=batch_size, progress=progress
            )
        except UnreadableIdNumber as error:
            raise CommandError(f"{error}; the batches before it are done.") from None
        self.stdout.write(
            f"{changed} ID numbers re-encrypted under the current IDENTITY_KEY; "
            "every one is now readable without IDENTITY_PREVIOUS_KEYS."
        )
