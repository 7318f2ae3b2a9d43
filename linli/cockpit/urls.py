"""Cockpit pages (namespace ``cockpit``), mounted at ``/cockpit/``."""

from django.urls import path

from linli.cockpit import views

app_name = "cockpit"

urlpatterns = [
    path("", views.cockpit, name="cockpit"),
    path("grids/<int:grid_id>/", views.grid_drill, name="grid"),
    path("alarms/", views.live_alarms, name="alarms"),
    path("emergency/", views.emergency, name="emergency"),
    path("emergency/households/", views.emergency_roster, name="roster"),
    path("emergency/households.json", views.emergency_roster, {"fmt": "json"}, name="roster-json"),
    path("emergency/reveal/", views.reveal_phone, name="reveal"),
    path("emergency/start/", views.incident_start, name="start"),
    path("tasks/", views.tasks, name="tasks"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident"),
    path("incidents/<int:incident_id>/board/", views.incident_board, name="board"),
    path("incidents/<int:incident_id>/check/", views.incident_check, name="check"),
    path("incidents/<int:incident_id>/households/<int:item_id>/mark/", views.incident_mark, name="mark"),
    path("incidents/<int:incident_id>/close/", views.incident_close, name="close"),
    path("incidents/<int:incident_id>/report/", views.incident_report, name="report"),
    path("incidents/<int:incident_id>/report.xlsx", views.incident_report_download, name="report-xlsx"),
    path("incidents/<int:incident_id>/cap.xml", views.incident_cap, name="cap"),
]
