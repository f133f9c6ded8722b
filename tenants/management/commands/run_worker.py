import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

# dramatiq's exit code for a failed import or bad arguments: a restart would fail the same way.
RET_IMPORT = 2
# A worker that ran this long before dying starts again at once; one that keeps dying is
# restarted after a growing pause (up to MAX_PAUSE).
STEADY_SECONDS = 60
MAX_PAUSE = 30


class Command(BaseCommand):
    help = (
        "Start the job worker (dramatiq) on the configured broker and start it again if it dies "
        "(killed, out of memory); stops with it on SIGINT/SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--queues", nargs="*", help="only these queues")
        parser.add_argument(
            "--modules", nargs="*", default=[], help="more modules with actors to load"
        )

    def handle(self, *args, **options):
        argv = [
            sys.executable, "-m", "dramatiq", "govplatform.worker", *options["modules"],
            "--processes", str(options["processes"]),
            "--threads", str(options["threads"]),
        ]  # fmt: skip
        if options["queues"]:
            argv += ["--queues", *options["queues"]]
        stopping = False
        worker = None

        def stop(_signum, _frame):
            nonlocal stopping
            stopping = True

        def forward(signum, frame):
            stop(signum, frame)
            if worker is not None:
                worker.send_signal(signum)

        # Ctrl-C in a terminal reaches the worker directly (same process group): only note it; a
        # second signal would make dramatiq kill its jobs instead of letting them finish.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, forward)
        pause, code = 1, 0
        while not stopping:
            started = time.monotonic()
            # A child, not exec: this process may own the embedded database and must outlive the
            # worker.
            worker = subprocess.Popen(argv)
            code = worker.wait()
            if stopping or code == 0:
                break
            if code == RET_IMPORT:
                sys.exit(code)
            # Killed or crashed: the jobs it held come back from the broker within its
            # redelivery bound (README, Jobs) and need a worker to run them.
            pause = 1 if time.monotonic() - started > STEADY_SECONDS else min(pause * 2, MAX_PAUSE)
            self.stderr.write(f"The job worker stopped (exit code {code}); starting it again.")
            time.sleep(pause)
        if code:
            sys.exit(code)
