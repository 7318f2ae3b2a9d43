from django.urls import path

from linli.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:notification_id>/read/", views.read, name="read"),
    path("read-all/", views.read_all, name="read-all"),
    path("preferences/", views.preferences, name="preferences"),
    path("templates/", views.templates, name="templates"),
    path("outbox/", views.outbox, name="outbox"),
    path("sw.js", views.service_worker, name="sw"),
    path("push/key/", views.push_key, name="push-key"),
    path("push/subscription/", views.push_subscription, name="push-subscription"),
    path("outbox/<int:delivery_id>/resend/", views.resend, name="resend"),
]
