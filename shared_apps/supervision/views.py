"""办件公示: the published case statistics, on the portal (every unit) and on each unit's
subdomain (its items). Counts and on-time rates only: no case, no applicant."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from govplatform.paging import page_for
from shared_apps.supervision import queries
from shared_apps.supervision.queries import Figures
from tenants.links import tenant_url


def _rate(row) -> str:
    rate = Figures(
        completed=row["completed"] if isinstance(row, dict) else row.completed,
        completed_on_time=(
            row["completed_on_time"] if isinstance(row, dict) else row.completed_on_time
        ),
    ).on_time_rate
    return "—" if rate is None else f"{rate * 100:.1f}%"


@require_safe
def portal_statistics(request):
    page = page_for(request, queries.published_units())
    for row in page:
        row.rate = _rate(row)
        row.url = tenant_url(row.tenant, "/statistics", request)
    return render(request, "supervision/portal_statistics.html", {"page": page})


@require_safe
def tenant_statistics(request):
    page = page_for(request, queries.published_items(request.tenant))
    rows = []
    for row in page:
        rows.append({**row, "rate": _rate(row)})
    return render(
        request,
        "supervision/tenant_statistics.html",
        {"page": page, "rows": rows, "unit": request.tenant},
    )
