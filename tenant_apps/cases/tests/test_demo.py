"""The demo cases of `./dev start`: every state in every demo unit, through the real actions,
some yellow and some red; a second run adds nothing."""

from django.db import connection

from shared_apps.audit.models import AuditEntry
from shared_apps.catalog.demo.load import SAME_DAY, load_implementations, load_items
from shared_apps.catalog.models import Implementation
from shared_apps.ledger.models import CaseEventOutbox
from tenant_apps.cases.demo import PLAN, UNITS, load_demo_cases
from tenant_apps.cases.models import Case, CaseEvent, DeadlineFlag
from tenants.models import Tenant


def test_demo_cases_in_every_state_then_nothing_more(root):
    from tenants.management.commands.load_demo_data import _load_chunk

    _load_chunk(
        list(
            Tenant.objects.filter(provisioned_at__isnull=False, status=Tenant.Status.ACTIVE)
            .order_by("code")
            .values_list("id", "schema_name", "code", "level")
        )
    )
    load_implementations(load_items(root))
    # Same-day items (即办件) are in the demo catalog.
    assert Implementation.objects.filter(item__name__in=SAME_DAY, promised_days=0).exists()

    units = [
        t
        for code, _staff in UNITS
        if (t := Tenant.objects.filter(code=code, provisioned_at__isnull=False).first())
    ]
    assert units
    # Other tests may have committed cases in these units: only the demo's are looked at.
    before = {}
    for tenant in units:
        connection.set_tenant(tenant)
        before[tenant.pk] = list(Case.objects.values_list("pk", flat=True))
    connection.set_schema_to_public()
    assert load_demo_cases(root, "正确的马电池订书钉") == 60 * len(units)
    flags = set()
    for tenant in units:
        connection.set_tenant(tenant)
        demo = Case.objects.exclude(pk__in=before[tenant.pk])
        states = set(demo.values_list("state", flat=True))
        assert states == {state.value for state, _count in PLAN}
        flags |= set(demo.values_list("deadline_flag", flat=True))
        numbered = demo.exclude(number=None)
        # Every step was an action: its event here, its audit entry and outbox row in public.
        assert CaseEvent.objects.filter(case__in=numbered, intent="submit").count() == (
            numbered.count()
        )
        connection.set_schema_to_public()
        assert CaseEventOutbox.objects.filter(tenant=tenant, event="accept").exists()
        assert AuditEntry.objects.filter(tenant_code=tenant.code, action="cases.accept").exists()
    assert {DeadlineFlag.YELLOW, DeadlineFlag.RED} <= flags
    assert load_demo_cases(root, "正确的马电池订书钉") == 0
