"""Open311 GeoReport v2 (mounted at ``open311/v2/``): the format is the path's suffix."""

from django.urls import re_path

from linli.cases import open311

app_name = "open311"

_FMT = r"\.(?P<fmt>[A-Za-z0-9]+)$"

urlpatterns = [
    re_path(r"^discovery" + _FMT, open311.discovery, name="discovery"),
    re_path(r"^services" + _FMT, open311.service_list, name="services"),
    re_path(r"^services/(?P<code>[^/]+?)" + _FMT, open311.service_definition, name="service"),
    re_path(r"^requests" + _FMT, open311.requests_view, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]+?)" + _FMT, open311.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + _FMT, open311.token_detail, name="token"),
    re_path(r"^servicerequestupdates" + _FMT, open311.request_updates, name="updates"),
    re_path(r"^(?P<path>.*)$", open311.not_found, name="not-found"),
]
