from django.core.management.base import BaseCommand

from tenants.interrupts import resumable
from tenants.management.commands.import_divisions import provision_pending


class Command(BaseCommand):
    help = "Create the schema of every tenant that has none yet (resumes an interrupted run)."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2)

    @resumable
    def handle(self, *args, **options):
        provision_pending(self, options["processes"])
