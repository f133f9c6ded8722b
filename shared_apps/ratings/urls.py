from django.urls import path

from shared_apps.ratings import views

app_name = "ratings"
urlpatterns = [
    path("my/cases/<uuid:public_id>/rating", views.rate_case, name="rate_case"),
    path("my/cases/<uuid:public_id>/rating/answer", views.answer, name="answer"),
    path("rate/<str:token>", views.by_token, name="by_token"),
]
