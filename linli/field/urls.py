"""The grid worker's phone app (namespace ``field``), mounted at ``/field/``."""

from django.urls import path

from linli.field import views

app_name = "field"

urlpatterns = [
    path("", views.today, name="today"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
    path("offline/", views.offline, name="offline"),
    path("sync/", views.sync, name="sync"),
    path("nearest/", views.nearest, name="nearest"),
    path("queue/", views.queue_page, name="queue"),
    path("report/", views.report_page, name="report"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("persons/<int:person_id>/", views.person_page, name="person"),
    path("persons/<int:person_id>/visit/", views.visit_page, name="visit"),
    path("verify/<int:task_id>/", views.verify_page, name="verify"),
    path("alarms/<int:alarm_id>/", views.alarm_page, name="alarm"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident"),
    path("correct/<str:target>/<int:target_id>/", views.correction_page, name="correct"),
    path("patrol/", views.patrol_page, name="patrol"),
    path("patrols/<int:patrol_id>/", views.patrol_detail, name="patrol-detail"),
    path("patrols/tracks.json", views.patrol_tracks, name="patrol-tracks"),
    path("patrols/statistics/", views.patrol_statistics, name="patrol-statistics"),
    path("corrections/", views.corrections, name="corrections"),
    path(
        "corrections/<int:correction_id>/decide/", views.correction_decide, name="correction-decide"
    ),
    path("logout/", views.logout_page, name="logout"),
    path("pin/", views.pin_page, name="pin"),
]
