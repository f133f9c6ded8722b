"""The two HTTP APIs: the provincial portal's (base domain) and every tenant's (its subdomain).
django-ninja generates their OpenAPI documents; checked copies live in docs/openapi/."""

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from govplatform.errors import StrictJSONParser, document_errors, install_error_handlers
from shared_apps.accounts.api import router as auth_router
from shared_apps.accounts.proxy_api import citizen_router as consents_router
from shared_apps.accounts.proxy_api import router as proxy_router
from shared_apps.accounts.staff_api import router as staff_router
from shared_apps.catalog.api import portal_router as catalog_router
from shared_apps.catalog.api import tenant_router as services_router
from shared_apps.consultations.api import router as consultations_router
from shared_apps.handoffs.api import router as handoffs_router
from shared_apps.licenses.api import portal_router as license_checks_router
from shared_apps.licenses.api import router as licenses_router
from shared_apps.payments.api import portal_router as payments_portal_router
from shared_apps.payments.api import router as payments_router
from shared_apps.ratings.api import applicant_router as my_ratings_router
from shared_apps.ratings.api import gateway_router as sms_replies_router
from shared_apps.ratings.api import public_router as rating_statistics_router
from shared_apps.ratings.api import router as ratings_router
from shared_apps.supervision.api import public_router as statistics_router
from shared_apps.supervision.api import router as supervision_router
from tenant_apps.cases.api import applicant_router as my_cases_router
from tenant_apps.cases.api import router as cases_router
from tenant_apps.departments.api import router as departments_router
from tenants.api import router as tenants_router


class ReadableJSONRenderer(JSONRenderer):
    """UTF-8 Chinese in responses instead of \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


class PlatformAPI(NinjaAPI):
    """Both APIs: strict JSON input, one error shape (govplatform.errors), documented for every
    operation."""

    def __init__(self, **kwargs):
        super().__init__(renderer=ReadableJSONRenderer(), parser=StrictJSONParser(), **kwargs)
        install_error_handlers(self)

    def get_openapi_schema(self, **kwargs):
        return document_errors(super().get_openapi_schema(**kwargs))


portal_api = PlatformAPI(
    title="Provincial portal API",
    version="1",
    description="Public information of the provincial platform and provincial administration.",
    urls_namespace="portal-api",
)
portal_api.add_router("", auth_router)
portal_api.add_router("", consents_router)
portal_api.add_router("", tenants_router)
portal_api.add_router("", catalog_router)
portal_api.add_router("", supervision_router)
portal_api.add_router("", statistics_router)
portal_api.add_router("", payments_portal_router)
portal_api.add_router("", license_checks_router)
portal_api.add_router("", rating_statistics_router)
portal_api.add_router("", sms_replies_router)

tenant_api = PlatformAPI(
    title="Tenant API",
    version="1",
    description="The API of one administrative unit, served on its own subdomain.",
    urls_namespace="tenant-api",
)
tenant_api.add_router("", departments_router)
tenant_api.add_router("", proxy_router)
tenant_api.add_router("", staff_router)
tenant_api.add_router("", services_router)
tenant_api.add_router("", cases_router)
tenant_api.add_router("", my_cases_router)
tenant_api.add_router("", handoffs_router)
tenant_api.add_router("", payments_router)
tenant_api.add_router("", licenses_router)
tenant_api.add_router("", my_ratings_router)
tenant_api.add_router("", ratings_router)
tenant_api.add_router("", consultations_router)
