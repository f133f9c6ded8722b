from django.core.management.base import BaseCommand

from shared_apps.notifications import inbox
from shared_apps.notifications.sending import overdue_deliveries


class Command(BaseCommand):
    help = (
        "Queue again the deliveries whose sending job was lost (a broker down when they were "
        "queued, a worker gone). Run it every few minutes, like audit_checkpoint."
    )

    def handle(self, *args, **options):
        ids = list(overdue_deliveries().order_by("pk").values_list("pk", flat=True)[:10_000])
        inbox.enqueue(ids)
        self.stdout.write(f"{len(ids)} deliveries queued again")
