"""Send the periodic jobs: every CASE_DEADLINE_INTERVAL_SECONDS, the deadline job (yellow and red
marking) to every active unit; every CASE_NOTICE_INTERVAL_SECONDS, the notification relay job
(the ledger's outbox → inbox, e-mail and SMS). Any number may run (one per pod, and `./dev start` runs one): a
PostgreSQL advisory lock held by the sending one's session lets only one of them send; the others
wait to take over if its connection goes."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from tenants.models import Tenant

SCHEDULER_LOCK = 4_100_000_010  # pg_advisory_lock key: the one scheduler that sends


def take_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SCHEDULER_LOCK])
        return cursor.fetchone()[0]


def send_deadline_jobs() -> int:
    """One deadline job per active unit, on the broker set up (actors bind to it on import)."""
    from tenant_apps.cases.actors import mark_case_deadlines

    codes = list(
        Tenant.objects.filter(status=Tenant.Status.ACTIVE, provisioned_at__isnull=False)
        .order_by("code")
        .values_list("code", flat=True)
    )
    for code in codes:
        mark_case_deadlines.send(code)
    return len(codes)


def send_notice_job() -> None:
    """One notification relay job (it relays every row waiting; another run finds none)."""
    from tenant_apps.cases.actors import relay_case_notices

    relay_case_notices.send()


class Command(BaseCommand):
    help = (
        "Send the periodic jobs (the case deadline job to every unit, the notification relay);"
        " only one scheduler sends."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send one round and stop")

    def handle(self, *args, once=False, **options):
        from govplatform.jobs import setup_broker

        setup_broker()
        interval = settings.CASE_DEADLINE_INTERVAL_SECONDS
        while not take_lock():
            if once:
                self.stdout.write("Another scheduler is sending; nothing sent.")
                return
            time.sleep(interval / 2)
        notice_interval = settings.CASE_NOTICE_INTERVAL_SECONDS
        try:
            next_deadlines = 0.0
            while True:
                if time.monotonic() >= next_deadlines:
                    sent = send_deadline_jobs()
                    self.stdout.write(f"Deadline job sent to {sent} units.")
                    next_deadlines = time.monotonic() + interval
                send_notice_job()
                if once:
                    return
                time.sleep(max(min(notice_interval, next_deadlines - time.monotonic()), 0.1))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SCHEDULER_LOCK])
