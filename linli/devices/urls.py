"""Device pages (namespace ``devices``), mounted at ``/devices/``."""

from django.urls import path

from linli.devices import views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_register, name="register"),
    path("import/", views.device_import, name="import"),
    path("<int:device_id>/", views.device_detail, name="device"),
    path("alarms/", views.alarm_list, name="alarms"),
    path("alarms/<int:alarm_id>/", views.alarm_detail, name="alarm"),
    path("hooks/hikvision/", views.hikvision_hook, name="hook-hikvision"),
    path("dead-letters/", views.dead_letters, name="dead-letters"),
]
