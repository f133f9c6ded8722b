from django.urls import path

from tenant_apps.cases import views

app_name = "cases"
urlpatterns = [
    path("apply/<str:code>", views.apply, name="apply"),
    path("my/cases", views.my_cases, name="my_cases"),
    path("my/cases/<uuid:public_id>", views.my_case, name="my_case"),
    path("my/cases/<uuid:public_id>/resubmit", views.resubmit, name="resubmit"),
    path("my/cases/<uuid:public_id>/withdraw", views.withdraw, name="withdraw"),
    path("cases/<uuid:public_id>/files/<uuid:file_id>", views.case_file, name="file"),
]
