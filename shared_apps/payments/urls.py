from django.urls import path

from shared_apps.payments import views

app_name = "payments"
urlpatterns = [
    path("", views.find, name="find"),
    path("notify", views.notify, name="notify"),
    path("<str:slip_number>", views.order_page, name="order"),
    path("<str:slip_number>/start", views.start, name="start"),
    path("<str:slip_number>/return", views.payer_return, name="return"),
    path("<str:slip_number>/receipt.pdf", views.receipt, name="receipt"),
    path("<str:slip_number>/check", views.check, name="check"),
]
