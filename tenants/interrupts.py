"""Ctrl-C in a long management command: one line saying how far it got and that running it again
resumes, instead of pages of tracebacks. Every step these commands take commits on its own (a
schema, a chunk of demo data, the whole import), so an interrupted run leaves nothing half done."""

import functools

from django.utils.translation import gettext as _

from tenants.progress import Progress

INTERRUPTED = 130  # the exit status of a process stopped by SIGINT, as shells report it


def resumable(handle):
    """Decorate a command's handle()."""

    @functools.wraps(handle)
    def run(command, *args, **options):
        Progress.latest = None
        try:
            return handle(command, *args, **options)
        except KeyboardInterrupt:
            name = command.__module__.rsplit(".", 1)[-1]
            progress = Progress.latest
            if progress is None or progress.done >= progress.total:
                message = _(
                    "Interrupted (Ctrl-C). Completed steps are kept; run %(command)s (or ./dev start) again to resume."
                ) % {"command": name}
            else:
                message = _(
                    "Interrupted (Ctrl-C) during %(task)s: at least %(done)d of %(total)d done and kept; run %(command)s (or ./dev start) again to resume."
                ) % {
                    "task": progress.description,
                    "done": progress.done,
                    "total": progress.total,
                    "command": name,
                }
            command.stderr.write(message)
            raise SystemExit(INTERRUPTED) from None

    return run
