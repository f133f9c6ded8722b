import os
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the job worker (dramatiq) on the configured broker."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--queues", nargs="*", help="only these queues")

    def handle(self, *args, **options):
        argv = [
            sys.executable,
            "-m",
            "dramatiq",
            "govplatform.worker",
            "--processes",
            str(options["processes"]),
            "--threads",
            str(options["threads"]),
        ]
        if options["queues"]:
            argv += ["--queues", *options["queues"]]
        os.execv(sys.executable, argv)
