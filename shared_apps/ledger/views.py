"""The portal's "my cases" (我的办件): every case of the signed-in person in every unit, read from
the public index (ApplicantCase), each linking to its page on the unit's subdomain."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from govplatform.paging import page_for
from shared_apps.ledger.models import ApplicantCase
from tenant_apps.cases.display import time_left
from tenant_apps.cases.models import State
from tenants.links import tenant_url


@login_required
@require_safe
def portal_my_cases(request):
    rows = (
        ApplicantCase.objects.filter(applicant_id=request.user.pk)
        .select_related("tenant")
        .order_by("-updated_at", "-id")
    )
    page = page_for(request, rows)
    for row in page:
        row.state_label = State(row.state).label if row.state in State.values else row.state
        row.time_left = time_left(row.state, row.due_at, row.deadline_flag)
        row.url = tenant_url(row.tenant, f"/my/cases/{row.case_public_id}", request)
    return render(request, "ledger/portal_my_cases.html", {"page": page})
