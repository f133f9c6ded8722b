"""The staff workbench's addresses on a unit's subdomain (under /workbench/)."""

from django.urls import path

from tenant_apps.cases import workbench

app_name = "workbench"
urlpatterns = [
    path("", workbench.queues, name="queues"),
    path("window", workbench.window, name="window"),
    path("tasks", workbench.tasks, name="tasks"),
    path("tasks/<uuid:public_id>", workbench.task_page, name="task"),
    path("tasks/<uuid:public_id>/opinion", workbench.task_opinion, name="task_opinion"),
    path("cases/<uuid:public_id>", workbench.case_page, name="case"),
    path("cases/<uuid:public_id>/<str:intent>", workbench.intent, name="intent"),
]
