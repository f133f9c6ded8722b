"""URLs of a tenant's site (its subdomain, its own schema)."""

from django.contrib import admin
from django.urls import include, path

from govplatform.api import tenant_api
from govplatform.display import elderly_mode
from shared_apps.accounts.views import staff
from shared_apps.catalog import urls as catalog_urls
from shared_apps.supervision.views import tenant_statistics
from tenant_apps.cases import document_views
from tenants.views import tenant_home

urlpatterns = [
    path("", tenant_home, name="tenant-home"),
    path("api/v1/", tenant_api.urls),
    path("accounts/", include("shared_apps.accounts.urls")),
    path("services/", include(catalog_urls.tenant_patterns)),
    path("staff", staff, name="staff"),
    path("workbench/", include("tenant_apps.cases.workbench_urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("display/elderly", elderly_mode, name="elderly-mode"),
    path("statistics", tenant_statistics, name="tenant-statistics"),
    path("oversight/", include("shared_apps.supervision.oversight_urls")),
    path("", include("tenant_apps.cases.urls")),
    path("", include("shared_apps.ratings.urls")),
    path(
        "cases/<uuid:public_id>/documents/<str:kind>.pdf",
        document_views.case_document,
        name="case-document",
    ),
    path("verify/<str:number>", document_views.verify, name="case-verify"),
]
# Unknown API paths answer in the API error shape; pages get the 404 page.
handler404 = "govplatform.errors.not_found"
