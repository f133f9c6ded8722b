import getpass
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants import provisioning
from tenants.divisions.importer import DivisionFileError, import_divisions, read_division_file
from tenants.progress import Progress

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "divisions" / "henan.csv"


class Command(BaseCommand):
    help = (
        "Import a division list (CSV: code,name,level,parent_code): create, rename, move, retire and "
        "reinstate tenants, then provision the new ones. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", default=str(DEFAULT_FILE), help="default: Henan's list"
        )
        parser.add_argument(
            "--no-provision", action="store_true", help="only update the tenant rows"
        )
        parser.add_argument("--processes", type=int, default=2)

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            rows = read_division_file(path)
            summary = import_divisions(rows, actor=f"system:{getpass.getuser()}", source=path.name)
        except DivisionFileError as error:
            raise CommandError(
                f"{path}: nothing was imported.\n" + "\n".join(error.errors)
            ) from None
        self.stdout.write(
            "created {created}, renamed {renamed}, moved {moved}, retired {retired}, "
            "reinstated {reinstated}, unchanged {unchanged}".format(**summary.as_dict())
        )
        for line in summary.renamed:
            self.stdout.write(f"  renamed {line}")
        if options["no_provision"]:
            return
        provision_pending(self, options["processes"])


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
