from django.urls import path

from shared_apps.catalog import views

portal_patterns = (
    [
        path("", views.portal_catalog, name="catalog"),
        path("items/<str:code>", views.portal_item, name="item"),
        path("route", views.route_page, name="route"),
    ],
    "catalog",
)
tenant_patterns = (
    [
        path("", views.tenant_catalog, name="catalog"),
        path("manage", views.manage_services, name="manage"),
        path("<str:code>", views.guide_page, name="guide"),
    ],
    "services",
)
