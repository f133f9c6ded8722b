import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tenants import schema_migrations
from tenants.interrupts import resumable
from tenants.management.commands.import_divisions import provision_pending
from tenants.progress import Progress


class Command(BaseCommand):
    help = (
        "Deploy migrations: the public schema with Django's migrate, then every tenant schema with the "
        "fast path (see tenants/schema_migrations.py), then provision tenants that have no schema. "
        "One run at a time: a second run waits for the first (or exits, with --no-wait). "
        "A failing schema is named; run again to resume."
    )

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument("--tenants-only", action="store_true", help="skip the public schema")
        parser.add_argument("--schema", action="append", help="only these tenant schemas")
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="exit with an error instead of waiting while another run is migrating",
        )

    @resumable
    def handle(self, *args, **options):
        def waiting(holder):
            self.stderr.write(f"Another migrate run holds the lock ({holder}); waiting for it.")

        try:
            with schema_migrations.run_lock(wait=not options["no_wait"], on_wait=waiting):
                self._deploy(options)
        except schema_migrations.AnotherRun as error:
            raise CommandError(
                f"{error}. Nothing was migrated; run again when it is done."
            ) from None

    def _deploy(self, options):
        if not options["tenants_only"]:
            call_command(
                "migrate_schemas",
                shared=True,
                interactive=False,
                verbosity=max(options["verbosity"] - 1, 0),
            )
        report = schema_migrations.migrate(
            options["schema"],
            processes=options["processes"],
            progress_factory=lambda total: Progress(
                total, "migrating tenant schemas", stream=sys.stderr
            ),
        )
        applied = [o for o in report.outcomes if o.ok]
        self.stdout.write(
            f"tenant schemas: {sum(len(g.schemas) for g in report.groups)} read, "
            f"{len(applied)} migrated, {len(report.failures)} failed"
        )
        if report.failures:
            raise CommandError(
                "These schemas were not migrated (run again to resume):\n"
                + "\n".join(f"  {o.schema_name}: {o.error}" for o in report.failures[:100])
            )
        if not options["schema"]:
            provision_pending(self, options["processes"])
