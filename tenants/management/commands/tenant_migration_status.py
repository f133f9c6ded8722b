from django.core.management.base import BaseCommand

from tenants import schema_migrations


class Command(BaseCommand):
    help = "List tenant schemas that are behind the migrations on disk (exit status 1 if any)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="list every schema behind, not the first 20"
        )

    def handle(self, *args, **options):
        report = schema_migrations.status()
        total = sum(len(g.schemas) for g in report.groups)
        behind = report.behind
        self.stdout.write(
            f"{total} tenant schemas, {len(behind)} behind, {len(report.unreadable)} unreadable"
        )
        for group in report.groups:
            if group.pending:
                names = ", ".join(f"{app}.{name}" for app, name in group.pending)
                self.stdout.write(f"- {len(group.schemas)} schemas lack: {names}")
                shown = group.schemas if options["all"] else group.schemas[:20]
                for schema in shown:
                    self.stdout.write(f"    {schema}")
                if len(shown) < len(group.schemas):
                    self.stdout.write(f"    … and {len(group.schemas) - len(shown)} more (--all)")
        holder = schema_migrations.run_lock_holder()
        if holder:
            self.stdout.write(f"A migrate run is going on: {holder}")
        for outcome in report.unreadable:
            self.stdout.write(f"- {outcome.schema_name}: {outcome.error}")
        if behind or report.unreadable:
            raise SystemExit(1)
