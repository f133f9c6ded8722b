from django.core.paginator import Paginator

from shared_apps.notifications.models import Message

INBOX_PAGE_SIZE = 20


def inbox_page(user, page_number):
    """One page of the person's messages, newest first (an out-of-range or malformed page number
    gives the first or last page)."""
    messages = (
        Message.objects.filter(user=user).select_related("tenant").order_by("-created_at", "-id")
    )
    return Paginator(messages, INBOX_PAGE_SIZE).get_page(page_number)


def unread_count(user) -> int:
    return Message.objects.filter(user=user, read_at__isnull=True).count()
