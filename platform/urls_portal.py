"""URLs of the provincial portal (the base domain, `public` schema)."""

from django.contrib import admin
from django.urls import include, path

from govplatform.api import portal_api
from govplatform.display import elderly_mode
from shared_apps.catalog import urls as catalog_urls
from shared_apps.ledger.views import portal_my_cases
from shared_apps.licenses import urls as license_urls
from shared_apps.ratings.views import portal_ranking, portal_unit_items
from shared_apps.supervision.views import portal_statistics
from tenants.place_views import place_picker
from tenants.views import portal_home

urlpatterns = [
    path("", portal_home, name="portal-home"),
    path("api/v1/", portal_api.urls),
    path("accounts/", include("shared_apps.accounts.urls")),
    path("services/", include(catalog_urls.portal_patterns)),
    path("place", place_picker, name="place"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("display/elderly", elderly_mode, name="elderly-mode"),
    path("statistics", portal_statistics, name="portal-statistics"),
    path("oversight/", include("shared_apps.supervision.oversight_urls")),
    path("statistics/ratings", portal_ranking, name="portal-rating-ranking"),
    path("statistics/ratings/<str:code>", portal_unit_items, name="portal-rating-items"),
    path("my/cases", portal_my_cases, name="portal-my-cases"),
    path("pay/", include("shared_apps.payments.urls")),
    path("licenses/", include(license_urls.urlpatterns)),
    path("my/licenses/", include(license_urls.wallet_patterns)),
]
# Unknown API paths answer in the API error shape; pages get the 404 page.
handler404 = "govplatform.errors.not_found"
