"""Fusion pages (namespace ``fusion``), mounted at ``/fusion/``."""

from django.urls import path

from linli.fusion import views
from linli.fusion.views import imports, persons, places, review, sources, tasks

app_name = "fusion"

urlpatterns = [
    path("", views.home, name="home"),
    path("sources/", sources.source_list, name="sources"),
    path("sources/<slug:code>/", sources.source_detail, name="source"),
    path("sources/<slug:code>/edit/", sources.source_edit, name="source-edit"),
    path("imports/", imports.job_list, name="jobs"),
    path("imports/new/", imports.upload, name="upload"),
    path("imports/new/<str:token>/", imports.preview, name="preview"),
    path("imports/new/<str:token>/dry-run/", imports.dry_run, name="dry-run"),
    path("imports/<int:job_id>/", imports.job_detail, name="job"),
    path("imports/<int:job_id>/progress/", imports.job_progress, name="job-progress"),
    path("imports/<int:job_id>/commit/", imports.commit, name="commit"),
    path("imports/<int:job_id>/resume/", imports.resume, name="resume"),
    path("imports/<int:job_id>/rejected.csv", imports.rejected_download, name="rejected"),
    path("reviews/", review.review_queue, name="reviews"),
    path("reviews/<int:review_id>/", review.review_decide, name="review-decide"),
    path("persons/<int:person_id>/provenance/", persons.provenance, name="provenance"),
    path("persons/<int:person_id>/split/", review.person_split, name="split"),
    path("tasks/", tasks.task_inbox, name="tasks"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task"),
    path("places/", places.place_proposals, name="places"),
]
