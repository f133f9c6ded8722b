"""The oversight pages' addresses (/oversight/), on the portal and on every unit's subdomain."""

from django.urls import path

from shared_apps.supervision import oversight

urlpatterns = [
    path("", oversight.home, name="oversight"),
    path("units/<str:code>", oversight.unit_page, name="oversight-unit"),
    path("cases/<uuid:public_id>", oversight.case_page, name="oversight-case"),
    path("orders", oversight.orders, name="oversight-orders"),
    path("orders/new", oversight.issue, name="oversight-issue"),
    path("orders/<int:order_id>", oversight.order_page, name="oversight-order"),
]
