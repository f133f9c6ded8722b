from django.core.management.base import BaseCommand, CommandError

from shared_apps.audit.checkpoints import read_checkpoint_log
from shared_apps.audit.queries import verify_chain


class Command(BaseCommand):
    help = (
        "Check the audit log's keyed hash chain and its signed checkpoints; exit status 1 and every "
        "break listed if it was tampered with."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            action="append",
            default=[],
            metavar="LOG_FILE",
            help="a copy of the application log: its audit-checkpoint lines must all match the "
            "database (detects checkpoints removed together with the entries they name)",
        )

    def handle(self, *args, checkpoints, **options):
        logged = [record for path in checkpoints for record in read_checkpoint_log(path)]
        checked, problems = verify_chain(logged_checkpoints=logged)
        if problems:
            raise CommandError(
                f"The audit log was tampered with ({len(problems)} problems in {checked} entries):\n"
                + "\n".join(problems[:100])
            )
        self.stdout.write(
            f"audit chain intact: {checked} entries"
            + (f", {len(logged)} logged checkpoints match" if checkpoints else "")
        )
