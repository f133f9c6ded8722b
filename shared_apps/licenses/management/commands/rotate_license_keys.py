import sys

from django.core.management.base import BaseCommand

from shared_apps.licenses.actions import rekey_after_identity_rotation


class Command(BaseCommand):
    help = (
        "After rotate_identity_key, and before IDENTITY_PREVIOUS_KEYS is removed: re-encrypt the "
        "units' license signing keys and the licenses' holder ID numbers under the current "
        "IDENTITY_KEY, and re-key the holders' digests. Resumable: run it again after an "
        "interruption."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        last, total = 0, 0
        while True:
            last, changed = rekey_after_identity_rotation(
                actor="system:rotate_license_keys", after_id=last, batch_size=batch_size
            )
            total += changed
            if not changed:
                break
            if sys.stdout.isatty() or options["verbosity"] > 1:
                self.stdout.write(f"up to license {last}: {total} re-keyed")
        self.stdout.write(
            f"Signing keys and {total} licenses re-encrypted under the current IDENTITY_KEY."
        )
