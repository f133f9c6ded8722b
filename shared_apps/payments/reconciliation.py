"""Reconciliation (对账): the provider's statement of a day against the payments recorded here.

The statement is the gateway's documented CSV (providers.GatewayProvider.statement), one line per
transaction of the day:

    trade_no,out_trade_no,type,amount,finished_at
    T8F3…,410102000000202611290123456789,PAY,70.00,2026-11-29 10:00:00
    R1C0…,410102000000202611290123456789,REFUND,70.00,2026-11-29 15:30:00

type PAY is money received for an order (the slip number in out_trade_no), REFUND money paid back.
Ours are the payments of the day recorded by notifications (an order's payment, or a second
payment of it) and the refunds sent. Each transaction is matched by the provider's number:
the same number and amount match; a number only in the statement is missing on our side; one
only here is missing on theirs; the same number with other amounts differs. Streams the
statement and holds ours in one dict: about a million lines a run.
"""

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from shared_apps.payments.models import MismatchKind, Notification, Outcome, Refund, RefundState

HEADER = ["trade_no", "out_trade_no", "type", "amount", "finished_at"]
_MONEY = re.compile(r"-?(0|[1-9][0-9]{0,11})\.[0-9]{2}")


class StatementError(ValueError):
    pass


@dataclass(frozen=True)
class Found:
    kind: str
    slip_number: str
    reference: str
    ours: Decimal | None
    theirs: Decimal | None


def statement_lines(text: str):
    """(reference, slip, type, amount) per line of the statement, checked as it is read."""
    rows = csv.reader(io.StringIO(text))
    if next(rows, None) != HEADER:
        raise StatementError(_("The statement does not start with the documented header."))
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != 5 or row[2] not in ("PAY", "REFUND") or not _MONEY.fullmatch(row[3]):
            raise StatementError(
                _("Line %(line)s of the statement is malformed.") % {"line": number}
            )
        try:
            amount = Decimal(row[3])
        except InvalidOperation:
            raise StatementError(
                _("Line %(line)s of the statement is malformed.") % {"line": number}
            ) from None
        yield row[0][:64], row[1][:50], row[2], amount


def ours_of(day, provider: str) -> dict:
    """reference → (slip, type, amount) of what was recorded here on `day` (local date)."""
    ours = {}
    paid = Notification.objects.filter(
        provider=provider,
        outcome__in=[Outcome.PAID, Outcome.DOUBLE_PAYMENT],
        received_at__date=day,
    ).values_list("provider_reference", "slip_number", "amount")
    for reference, slip, amount in paid.iterator(chunk_size=10_000):
        ours[reference] = (slip, "PAY", amount)
    refunds = Refund.objects.filter(state=RefundState.SENT, decided_at__date=day).values_list(
        "provider_refund_no", "order__slip_number", "amount"
    )
    for reference, slip, amount in refunds.iterator(chunk_size=10_000):
        ours[reference] = (slip, "REFUND", amount)
    return ours


def compare(lines, ours: dict) -> tuple[int, int, list[Found]]:
    """(statement lines, matched, mismatches) of the statement's lines against ours (emptied)."""
    count = matched = 0
    found = []
    for reference, slip, kind, amount in lines:
        count += 1
        mine = ours.pop(reference, None)
        if mine is None:
            # Late notification of a payment the statement has: recorded another day here.
            late = (
                Notification.objects.filter(
                    provider_reference=reference, outcome__in=[Outcome.PAID, Outcome.DOUBLE_PAYMENT]
                )
                .values_list("amount", flat=True)
                .first()
                if kind == "PAY"
                else None
            )
            if late is None:
                found.append(Found(MismatchKind.MISSING_OURS, slip, reference, None, amount))
                continue
            mine = (slip, kind, late)
        if mine[2] != amount or mine[1] != kind:
            found.append(Found(MismatchKind.AMOUNT_DIFFERS, slip, reference, mine[2], amount))
        else:
            matched += 1
    for reference, (slip, _kind, amount) in ours.items():
        found.append(Found(MismatchKind.MISSING_THEIRS, slip, reference, amount, None))
    return count, matched, found
