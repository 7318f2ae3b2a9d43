from django.contrib import admin
from django.urls import include, path

from linli.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("services/", include("linli.catalogue.urls")),
    path("cases/", include("linli.cases.urls")),
    path("fusion/", include("linli.fusion.urls")),
    path("notifications/", include("linli.notify.urls")),
    path("care/", include("linli.care.urls")),
    path("devices/", include("linli.devices.urls")),
    path("cockpit/", include("linli.cockpit.urls")),
    path("portal/", include("linli.portal.urls")),
    path("field/", include("linli.field.urls")),
    path("open311/v2/", include("linli.cases.open311_urls")),
    path("", include("linli.ops.urls")),
    path("", include("linli.web.urls")),
]
