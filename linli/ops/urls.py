"""Operations URLs: ``/healthz`` and ``/metrics`` at the root, the page under ``/ops/``."""

from django.urls import path

from linli.ops import views

app_name = "ops"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("ops/jobs/", views.stuck_work, name="jobs"),
    path("ops/jobs/tasks/<str:task_id>/resume/", views.task_resume, name="task-resume"),
]
