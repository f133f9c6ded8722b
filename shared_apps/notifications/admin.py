"""What provincial administrators see of notifications: read-only, to find why a message did not
reach someone."""

from django.contrib import admin

from govplatform.admin_site import ReadOnlyAdmin
from shared_apps.notifications.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["message", "channel", "address", "status", "attempts", "next_try_at", "sent_at"]
    list_filter = ["channel", "status"]
    fields = [
        "message",
        "channel",
        "address",
        "status",
        "attempts",
        "last_error",
        "next_try_at",
        "sent_at",
        "provider_id",
        "created_at",
    ]
