from django.shortcuts import render

from tenant_apps.departments.models import Department
from tenants.models import Tenant


def portal_home(request):
    """The provincial portal's front page: the province and its cities, each a link to its site."""
    province = Tenant.objects.filter(level=Tenant.Level.PROVINCE).first()
    units = (
        Tenant.objects.filter(parent=province)
        .exclude(status=Tenant.Status.RETIRED)
        .order_by("code")
        if province
        else Tenant.objects.none()
    )
    return render(request, "tenants/portal_home.html", {"province": province, "units": units})


def tenant_home(request):
    """A unit's front page: who it is, where it sits, its departments and the units below it."""
    tenant = request.tenant
    children = (
        Tenant.objects.filter(parent_id=tenant.id)
        .exclude(status=Tenant.Status.RETIRED)
        .order_by("code")
    )
    departments = Department.objects.filter(is_active=True)
    return render(
        request,
        "tenants/tenant_home.html",
        {"tenant": tenant, "children": children, "departments": departments},
    )
