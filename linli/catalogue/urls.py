"""Pages of the service catalogue (namespace ``catalogue``), mounted under ``/services/``."""

from django.urls import path

from linli.catalogue.views import applications, appointments, items, statistics, window

app_name = "catalogue"

urlpatterns = [
    path("", items.item_index, name="items"),
    path("items/new/", items.item_new, name="item_new"),
    path("items/<int:item_id>/", items.item_detail, name="item"),
    path("items/<int:item_id>/edit/", items.item_edit, name="item_edit"),
    path("items/<int:item_id>/apply/", window.apply_start, name="apply"),
    path("window/", window.window_home, name="window"),
    path("applications/", applications.inbox, name="inbox"),
    path("applications/<int:application_id>/", applications.application_detail, name="application"),
    path("applications/<int:application_id>/fill/", window.application_fill, name="application_fill"),
    path("applications/<int:application_id>/act/", applications.application_act, name="application_act"),
    path("files/<int:file_id>/", applications.application_file, name="file"),
    path("appointments/", appointments.window_index, name="windows"),
    path("appointments/windows/<int:window_id>/", appointments.window_day, name="window_day"),
    path("appointments/windows/<int:window_id>/queue/", appointments.window_queue, name="window_queue"),
    path("appointments/<int:appointment_id>/<str:action>/", appointments.appointment_act, name="appointment_act"),
    path("statistics/", statistics.statistics, name="statistics"),
]
