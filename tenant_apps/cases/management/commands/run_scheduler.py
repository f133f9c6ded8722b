"""Send the periodic jobs: every CASE_DEADLINE_INTERVAL_SECONDS, the rectification deadline sweep
(shared_apps.ratings, one job for the province) and the deadline job (yellow and red marking) to
the units that have something to mark by now (`ledger.DeadlineWatch`, kept by the case
actions and by the job itself), and to every active unit when the scheduler starts and then every
CASE_DEADLINE_SWEEP_SECONDS (a safety net: a unit's watch row is rebuilt by its job); every
CASE_NOTICE_INTERVAL_SECONDS, the notification relay job (the ledger's outbox → inbox, e-mail and
SMS), the supervision ledger relay and the hand-off relay job (shared_apps.handoffs); once a day
(and at start) the payments job (shared_apps.payments). Any number may run (one per pod, and `./dev start` runs one): a PostgreSQL advisory lock held
by the sending one's session lets only one of them send; the others wait to take over if its
connection goes."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from shared_apps.ledger.models import DeadlineWatch
from tenants.models import Tenant

SCHEDULER_LOCK = 4_100_000_010  # pg_advisory_lock key: the one scheduler that sends


def take_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SCHEDULER_LOCK])
        return cursor.fetchone()[0]


def units_to_mark(*, every_unit: bool = False, now=None) -> list[str]:
    """Codes of the active units whose deadline job has something to do by `now` (every active
    unit with `every_unit`): one query on `public`."""
    units = Tenant.objects.filter(status=Tenant.Status.ACTIVE, provisioned_at__isnull=False)
    if not every_unit:
        due = DeadlineWatch.objects.filter(next_mark_at__lte=now or timezone.now())
        units = units.filter(pk__in=due.values("tenant_id"))
    return list(units.order_by("code").values_list("code", flat=True))


def send_deadline_jobs(*, every_unit: bool = False) -> int:
    """One deadline job per unit to mark, on the broker set up (actors bind to it on import)."""
    from tenant_apps.cases.actors import mark_case_deadlines

    codes = units_to_mark(every_unit=every_unit)
    for code in codes:
        mark_case_deadlines.send(code)
    return len(codes)


def send_rectification_job() -> None:
    """One rectification deadline job (shared_apps.ratings): one sweep for the whole province."""
    from shared_apps.ratings.actors import mark_rectification_deadlines

    mark_rectification_deadlines.send()


def send_escalation_job() -> None:
    """One escalation sweep (shared_apps.consultations) for the whole province."""
    from shared_apps.consultations.actors import escalate_overdue_consultations

    escalate_overdue_consultations.send()


def send_notice_job() -> None:
    """One notification relay job (it relays every row waiting; another run finds none)."""
    from tenant_apps.cases.actors import relay_case_notices

    relay_case_notices.send()


def send_supervision_job() -> None:
    """One supervision ledger relay job (shared_apps.supervision: the outbox → the ledger), and
    one sweep of the supervision orders past their deadline."""
    from shared_apps.supervision.actors import (
        mark_overdue_supervision_orders,
        relay_supervision_ledger,
    )

    relay_supervision_ledger.send()
    mark_overdue_supervision_orders.send()


def send_handoff_job() -> None:
    """One hand-off relay job (shared_apps.handoffs): it applies every pending hand-off it can."""
    from shared_apps.handoffs.actors import relay_handoffs

    relay_handoffs.send()


def send_payments_job() -> None:
    """The daily payments job (shared_apps.payments: overdue orders, reconciliation)."""
    from shared_apps.payments.actors import payments_daily

    payments_daily.send()


def send_webhook_job() -> None:
    """The paid events' webhook job (shared_apps.payments.webhooks): the deliveries now due."""
    from shared_apps.payments.actors import deliver_payment_webhooks

    deliver_payment_webhooks.send()


class Command(BaseCommand):
    help = (
        "Send the periodic jobs (the case deadline job to the units with clocks to mark, to every "
        "unit at start and once per sweep; the notification relay); only one scheduler sends."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send one round and stop")
        parser.add_argument(
            "--due-only",
            action="store_true",
            help="with --once: only the units with something to mark (no sweep of every unit)",
        )

    def handle(self, *args, once=False, due_only=False, **options):
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
            last_sweep = None
            next_deadlines = 0.0
            payments_day = None
            while True:
                if time.monotonic() >= next_deadlines:
                    sweep = not due_only and (
                        last_sweep is None
                        or time.monotonic() - last_sweep >= settings.CASE_DEADLINE_SWEEP_SECONDS
                    )
                    sent = send_deadline_jobs(every_unit=sweep)
                    send_rectification_job()
                    send_escalation_job()
                    if sweep:
                        last_sweep = time.monotonic()
                        self.stdout.write(f"Deadline job sent to {sent} units (every unit).")
                    else:
                        self.stdout.write(f"Deadline job sent to {sent} units with clocks to mark.")
                    next_deadlines = time.monotonic() + interval
                send_notice_job()
                send_supervision_job()
                send_handoff_job()
                send_webhook_job()
                if payments_day != timezone.localdate():
                    send_payments_job()
                    payments_day = timezone.localdate()
                if once:
                    return
                time.sleep(max(min(notice_interval, next_deadlines - time.monotonic()), 0.1))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SCHEDULER_LOCK])
