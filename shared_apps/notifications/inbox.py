"""Writing to a person's inbox: `notify`, called by the actions whose changes people should know
about, and marking messages read.

These are not `actions` (no audit entry of their own): a message is part of the action that
caused it, which audits that change in its own unit's chain; an entry per message would put every
unit's notifications on the province's audit chain, and reading one's messages is no privileged
act. Who caused a message is kept on it (`sent_by`)."""

import logging

from django.db import transaction
from django.utils import timezone

from shared_apps.audit.actions import Actor
from shared_apps.notifications.kinds import KINDS
from shared_apps.notifications.models import Delivery, Message

logger = logging.getLogger(__name__)

MAX_CONTEXT_VALUE = 500


def notify(
    user, kind: str, context: dict, *, actor, link: str | None = None, tenant=None
) -> Message:
    """Put a message in `user`'s inbox and queue it by e-mail and SMS, for the addresses the
    person has; in the caller's transaction. The sending jobs are queued once it commits, and
    nothing about sending (a broker down, a gateway failing) fails or slows the caller: each
    delivery is retried by its job (and `send_notifications` finds any whose job was lost)."""
    template = KINDS.get(kind)
    if template is None:
        raise ValueError(f"Unknown kind of message {kind!r}: add it to notifications.kinds.")
    missing = template.fields() - set(context)
    if missing:
        raise ValueError(f"The context of a {kind!r} message lacks {sorted(missing)}.")
    context = {key: str(value)[:MAX_CONTEXT_VALUE] for key, value in context.items()}
    with transaction.atomic():
        message = Message.objects.create(
            user=user,
            kind=kind,
            context=context,
            link=(link or "")[:500],
            tenant=tenant,
            sent_by=Actor.of(actor).name.replace("\x00", "")[:150],
        )
        addresses = {}
        if user.is_active and user.email:
            addresses[Delivery.Channel.EMAIL] = user.email
        if user.is_active and user.phone:
            addresses[Delivery.Channel.SMS] = user.phone
        deliveries = Delivery.objects.bulk_create(
            Delivery(message=message, channel=channel, address=address, next_try_at=timezone.now())
            for channel, address in addresses.items()
        )
        if deliveries:
            ids = [delivery.pk for delivery in deliveries]
            transaction.on_commit(lambda: enqueue(ids), robust=True)
    return message


def enqueue(delivery_ids: list[int]) -> None:
    """Queue a sending job per delivery. A broker that is down is logged, not raised: the
    deliveries stay pending, and `send_notifications` queues them again."""
    from shared_apps.notifications.actors import send_delivery

    for delivery_id in delivery_ids:
        try:
            send_delivery.send(delivery_id)
        except Exception:
            logger.exception(
                "Could not queue delivery %s; it waits for send_notifications", delivery_id
            )


def mark_read(user, message_ids: list[int] | None = None) -> int:
    """Mark the person's messages read (those given, or all); returns how many changed."""
    messages = Message.objects.filter(user=user, read_at__isnull=True)
    if message_ids is not None:
        messages = messages.filter(pk__in=message_ids)
    return messages.update(read_at=timezone.now())
