"""Unified public payment: `python -m bench.payments`.

On its own database (`<DATABASE_URL's database>_paybench`, made and dropped here), in-process
through the portal's notification endpoint (Django's test client, the whole middleware stack):

- notification handling: p50/p95 per signed notification paying a distinct order, and the
  sustained rate of one process; baseline in the same run: the same endpoint refusing a forged
  signature (it too keeps and audits the message, but pays nothing);
- 8 concurrent duplicate notifications (8 processes released together) for each of 50 orders:
  how many payments were recorded per order (must be exactly 1);
- reconciliation of a day of 1,000,000 payments (the provider's CSV statement against the
  notifications recorded here, 3 planted mismatches): seconds; baseline: only reading and checking
  the statement's lines.
"""

import multiprocessing
import os
import subprocess
import sys
import time

from bench.common import ROOT, percentiles, scratch_database

N = 400
RACED_ORDERS = 50
RACERS = 8
RECONCILED = 1_000_000
KEY = "bench-payment-key-0123456789abcdef"


def main() -> None:
    with scratch_database("paybench") as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PAYMENT_GATEWAY_URL": "http://gateway.bench",
            "PAYMENT_GATEWAY_KEY": KEY,
        }
        manage = [sys.executable, "manage.py"]
        run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True}
        subprocess.run([*manage, "migrate_tenants"], **run)
        subprocess.run(
            [*manage, "import_divisions", str(ROOT / "tests/data/sample_divisions.csv")], **run
        )
        code = "from bench.payments import measure; measure()"
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def _setup():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()


def _orders(count: int, prefix: str) -> list:
    """Pending orders made directly (the benchmark measures paying them, not making them)."""
    import uuid
    from datetime import date
    from decimal import Decimal

    from shared_apps.accounts.models import User
    from shared_apps.payments.models import PaymentOrder
    from tenants.models import Tenant

    county = Tenant.objects.get(code="410102000000")
    payer, _ = User.objects.get_or_create(username="bench-payer")
    return PaymentOrder.objects.bulk_create(
        PaymentOrder(
            slip_number=f"{prefix}{n:010d}",
            tenant=county,
            department_id=1,
            department_name="市场监督管理局",
            case_public_id=uuid.uuid4(),
            case_number=f"BENCH{n}",
            item_name="基准测试事项",
            stage="acceptance",
            payer=payer,
            total=Decimal("70.00"),
            due_date=date(2030, 1, 1),
        )
        for n in range(count)
    )


def _params(order, reference: str, key: str = KEY) -> dict:
    from django.conf import settings

    from shared_apps.payments.providers import sign

    params = {
        "merchant_id": settings.PAYMENT_MERCHANT_ID,
        "out_trade_no": order.slip_number,
        "trade_no": reference,
        "total_amount": f"{order.total:.2f}",
        "trade_status": "SUCCESS",
        "timestamp": str(int(time.time())),
    }
    params["sign"] = sign(params, key)
    return params


def measure() -> None:
    _setup()
    from django.conf import settings
    from django.test import Client

    client = Client()
    portal = {"HTTP_HOST": settings.BASE_DOMAIN}
    orders = _orders(N, "9100")
    forged, paid = [], []
    for order in orders[: N // 4]:  # baseline first, on orders that stay unpaid
        started = time.perf_counter()
        response = client.post("/pay/notify", _params(order, "TF", key="x" * 32), **portal)
        forged.append(time.perf_counter() - started)
        assert response.status_code == 400
    began = time.perf_counter()
    for n, order in enumerate(orders):
        started = time.perf_counter()
        response = client.post("/pay/notify", _params(order, f"T{n}"), **portal)
        paid.append(time.perf_counter() - started)
        assert response.content == b"success"
    elapsed = time.perf_counter() - began
    p50, p95 = percentiles(paid)
    b50, b95 = percentiles(forged)
    print(f"notification paying an order: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(target p95 ≤ 50 ms); sustained {N / elapsed:.0f}/s in one process")  # fmt: skip
    print(f"baseline, forged signature refused: p50 {b50:.1f} ms, p95 {b95:.1f} ms")

    raced = _orders(RACED_ORDERS, "9200")
    slips = [order.slip_number for order in raced]
    context = multiprocessing.get_context("fork")
    start = context.Barrier(RACERS)
    from django.db import connections

    connections.close_all()  # each racer opens its own
    racers = [context.Process(target=_race, args=(slips, start)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    from shared_apps.payments.models import Notification

    per_order = [
        Notification.objects.filter(slip_number=slip, outcome="paid").count() for slip in slips
    ]
    duplicates = Notification.objects.filter(slip_number__in=slips, outcome="duplicate").count()
    print(f"{RACERS} concurrent duplicate notifications × {RACED_ORDERS} orders: payments "
          f"recorded per order min {min(per_order)} max {max(per_order)}; {duplicates} "
          f"duplicates recognised (expected {RACED_ORDERS * (RACERS - 1)})")  # fmt: skip
    _reconciliation()


def _race(slips, start) -> None:
    from django.db import connection

    from shared_apps.payments import actions
    from shared_apps.payments.models import PaymentOrder
    from shared_apps.payments.providers import provider

    gateway = provider()
    try:
        for slip in slips:
            order = PaymentOrder.objects.get(slip_number=slip)
            start.wait()
            actions.receive_result(gateway, _params(order, f"R{slip}"), via="notify")
    finally:
        connection.close()


def _reconciliation() -> None:
    from django.db import connection
    from django.utils import timezone

    from shared_apps.payments import actions, reconciliation
    from shared_apps.payments.models import Notification
    from shared_apps.payments.providers import provider

    day = timezone.localdate()
    # The payments of the first parts of this run are not in the statement: missing theirs.
    earlier = Notification.objects.filter(outcome="paid").count()
    with connection.cursor() as cursor:  # a day of payments recorded here, in one statement
        cursor.execute(
            "INSERT INTO payments_notification (provider, slip_number, provider_reference,"
            " amount, outcome, via, received_at)"
            " SELECT 'gateway', 'S' || n, 'X' || n, 70.00, 'paid', 'notify', now()"
            " FROM generate_series(1, %s) n",
            [RECONCILED],
        )
    lines = ["trade_no,out_trade_no,type,amount,finished_at"]
    lines += [f"X{n},S{n},PAY,70.00,{day} 10:00:00" for n in range(2, RECONCILED + 1)]
    lines[5] = lines[5].replace(",70.00,", ",7.00,")  # amounts differ
    lines.append(f"XNEW,SNEW,PAY,70.00,{day} 11:00:00")  # missing ours; X1 missing theirs
    statement = "\n".join(lines) + "\n"
    started = time.perf_counter()
    count = sum(1 for _ in reconciliation.statement_lines(statement))
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    run = actions.reconcile(day, provider=provider(), statement=statement)
    elapsed = time.perf_counter() - started
    print(f"reconciliation of {run.statement_lines:,} statement lines against "
          f"{RECONCILED:,} recorded: {elapsed:.1f} s (target ≤ 120 s); matched {run.matched:,}, "
          f"mismatches {run.mismatched} (expected {3 + earlier}: 3 planted, {earlier} paid earlier "
          "in this run and not in the statement)")  # fmt: skip
    print(f"baseline, reading and checking the {count:,} lines only: {baseline:.1f} s")


if __name__ == "__main__":
    main()
