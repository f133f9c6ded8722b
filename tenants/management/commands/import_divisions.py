import getpass
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants import provisioning
from tenants.divisions.importer import (
    DivisionFileError,
    ImportSummary,
    import_divisions,
    read_division_file,
)
from tenants.interrupts import resumable
from tenants.progress import Progress

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "divisions" / "henan.csv"


class Command(BaseCommand):
    help = (
        "Import a division list (CSV: code,name,level,parent_code): correct misread subdomains "
        "(the old ones redirect), create, rename, move, retire and reinstate tenants, then "
        "provision the new ones. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", default=str(DEFAULT_FILE), help="default: Henan's list"
        )
        parser.add_argument(
            "--no-provision", action="store_true", help="only update the tenant rows"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would be created, renamed, moved, retired and reinstated; change nothing",
        )
        parser.add_argument(
            "--allow-mass-retirement",
            action="store_true",
            help="retire units missing from the file even when they are more than 5%% of the units",
        )
        parser.add_argument("--processes", type=int, default=2)

    @resumable
    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            rows = read_division_file(path)
            summary = import_divisions(
                rows,
                actor=f"system:{getpass.getuser()}",
                source=path.name,
                dry_run=options["dry_run"],
                allow_mass_retirement=options["allow_mass_retirement"],
            )
        except DivisionFileError as error:
            raise CommandError(
                f"{path}: nothing was imported.\n" + "\n".join(error.errors)
            ) from None
        if options["dry_run"]:
            self.report_dry_run(summary, options["allow_mass_retirement"])
            return
        self.stdout.write(
            "created {created}, renamed {renamed}, moved {moved}, retired {retired}, "
            "reinstated {reinstated}, subdomains corrected {subdomains_corrected}, "
            "unchanged {unchanged}".format(**summary.as_dict())
        )
        for line in summary.renamed:
            self.stdout.write(f"  renamed {line}")
        for line in summary.subdomains_corrected:
            self.stdout.write(f"  subdomain {line} (the old one redirects)")
        if options["no_provision"]:
            return
        provision_pending(self, options["processes"])

    def report_dry_run(self, summary: ImportSummary, allowed: bool) -> None:
        self.stdout.write(
            "dry run, nothing changed: would create {created}, rename {renamed}, move {moved}, "
            "retire {retired}, reinstate {reinstated}, correct {subdomains_corrected} subdomains; "
            "unchanged {unchanged}".format(**summary.as_dict())
        )
        for line in summary.subdomains_corrected:
            self.stdout.write(f"  correct subdomain {line}")
        for verb, codes in (
            ("create", summary.created),
            ("move", summary.moved),
            ("retire", summary.retired),
            ("reinstate", summary.reinstated),
        ):
            for code in codes:
                self.stdout.write(f"  {verb} {code} {summary.names[code]}")
            if verb == "create":
                for line in summary.renamed:
                    self.stdout.write(f"  rename {line}")
        if summary.too_many_retirements and not allowed:
            self.stderr.write(
                f"refused without --allow-mass-retirement: it retires {len(summary.retired)} of {summary.live_units} units "
                f"(at most {summary.retirement_limit})"
            )


def provision_pending(command: BaseCommand, processes: int) -> None:
    from tenants.models import Tenant

    pending = list(Tenant.objects.filter(provisioned_at__isnull=True).order_by("code"))
    if not pending:
        return
    with Progress(len(pending), "provisioning", stream=sys.stderr) as progress:
        outcomes = provisioning.provision(pending, processes=processes, progress=progress)
    failed = [o for o in outcomes if not o.ok]
    command.stdout.write(f"provisioned {len(outcomes) - len(failed)} schemas")
    if failed:
        raise CommandError(
            f"{len(failed)} schemas failed (run again to retry):\n"
            + "\n".join(f"  {o.schema_name}: {o.error}" for o in failed[:50])
        )
