"""The shared base map's attributes and assets for any page's map (docs/cockpit.md#base-map).

``{% basemap_attrs %}`` goes on the map's holder element: the tile service (optional), its
coordinate system, the URL of the base map's data and the legend's words, so
``web/basemap.js`` needs nothing else from the page.
"""

from __future__ import annotations

import json

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def basemap_attrs(base_url: str = "") -> SafeString:
    """``base_url``: another source of the base map's data (default: the staff's)."""
    legend = {
        "community": _("社区边界"),
        "grid": _("网格"),
        "building": _("楼栋"),
        "facility": _("设施"),
        "north": _("北"),
    }
    return format_html(
        'data-tile-url="{}" data-tile-crs="{}" data-base-url="{}" data-legend="{}"',
        settings.LINLI_MAP_TILE_URL,
        settings.LINLI_MAP_TILE_CRS,
        base_url or reverse("web:map-base"),
        json.dumps(legend, ensure_ascii=False),
    )


@register.simple_tag
def leaflet_available() -> bool:
    """Leaflet comes from npm at install time; without it pages show no map, not a broken one."""
    return finders.find("vendor/leaflet/leaflet.js") is not None
