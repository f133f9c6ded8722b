"""The staff workbench's addresses on a unit's subdomain (under /workbench/)."""

from django.urls import path

from shared_apps.ratings import workbench as ratings
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
    path("ratings", ratings.queue, name="rectifications"),
    path("ratings/appeals", ratings.appeals, name="rating_appeals"),
    path("ratings/<int:task_id>", ratings.task_page, name="rectification"),
    path("ratings/<int:task_id>/decide", ratings.decide, name="rating_decide"),
    path("ratings/<int:task_id>/<str:name>", ratings.step, name="rectification_step"),
]
