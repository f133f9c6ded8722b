import signal
import subprocess
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Start the job worker (dramatiq) on the configured broker; stops with it on SIGINT/SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--queues", nargs="*", help="only these queues")

    def handle(self, *args, **options):
        argv = [
            sys.executable, "-m", "dramatiq", "govplatform.worker",
            "--processes", str(options["processes"]),
            "--threads", str(options["threads"]),
        ]  # fmt: skip
        if options["queues"]:
            argv += ["--queues", *options["queues"]]
        # A child, not exec: this process may own the embedded database and must outlive the worker.
        worker = subprocess.Popen(argv)

        def forward(signum, _frame):
            worker.send_signal(signum)

        # Ctrl-C in a terminal reaches the worker directly (same process group); a second signal
        # would make dramatiq kill its jobs instead of letting them finish.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, forward)
        code = worker.wait()
        if code:
            sys.exit(code)
