from django.urls import path

from shared_apps.licenses import views

urlpatterns = [
    path("check", views.check, name="license-check-form"),
    path("check/<str:identifier>", views.check, name="license-check"),
]
