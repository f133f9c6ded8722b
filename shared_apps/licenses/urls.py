from django.urls import path

from shared_apps.licenses import views

urlpatterns = [
    path("shared", views.shared, name="license-shared-form"),
    path("shared/<str:code>", views.shared, name="license-shared"),
    path("check", views.check, name="license-check-form"),
    path("check/<str:identifier>", views.check, name="license-check"),
]

# Under /my/ on the portal, beside "my cases".
wallet_patterns = [
    path("", views.wallet, name="license-wallet"),
    path("<str:identifier>/pdf", views.download, name="license-download"),
    path("<str:identifier>/share", views.share, name="license-share"),
]
