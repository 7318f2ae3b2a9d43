"""The report form's place on the base map, for residents: the map of their own community
(outlines and buildings, nothing about persons) and the building nearest a point, in the
shapes of the staff's ``/map/base.json`` and ``/map/nearest`` so that ``web/map-picker.js``
and ``web/basemap.js`` draw them unchanged."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.portal import hall_selectors
from linli.portal.selectors import is_resident
from linli.portal.views.access import ResidentRequest, resident_view
from linli.web.views.maps import bad_request, nearest_answer, query_bbox

_JSON_OPTIONS = {"ensure_ascii": False, "separators": (",", ":")}


class ReportPlaceForm(forms.Form):
    """The two hidden inputs the map picker fills (WGS-84); names as the report form posts."""

    lon = forms.FloatField(required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)


def report_place_context(request: HttpRequest) -> dict[str, Any]:
    """The picker's context for the report form: posted place, else the resident's building."""
    initial: dict[str, Any] = {}
    if request.method != "POST" and is_resident(request.user):
        home = hall_selectors.home_point(user=request.user)  # type: ignore[arg-type]  # checked
        if home is not None:
            initial = {"lon": home[0], "lat": home[1]}
    form = ReportPlaceForm(request.POST if request.method == "POST" else None, initial=initial)
    return {
        "place": form,
        "base_url": reverse("portal:map-base"),
        "nearest_url": reverse("portal:map-nearest"),
    }


@resident_view
@require_GET
def map_base(request: ResidentRequest) -> JsonResponse:
    """The resident's community: outlines always, buildings when ``bbox=w,s,e,n`` is given."""
    bbox = query_bbox(request)
    if bbox is False:
        return bad_request("bbox", _("地图范围无效或过大"))
    response = JsonResponse(
        hall_selectors.basemap_for_resident(user=request.user, bbox=bbox),
        json_dumps_params=_JSON_OPTIONS,
    )
    response["Cache-Control"] = "private, max-age=60"
    return response


@resident_view
@require_GET
def map_nearest(request: ResidentRequest) -> JsonResponse:
    """The building of the resident's community nearest ``lat``/``lon``, in words."""
    return nearest_answer(
        request, lambda lat, lon: hall_selectors.nearest_for_resident(user=request.user, lat=lat, lon=lon)
    )
