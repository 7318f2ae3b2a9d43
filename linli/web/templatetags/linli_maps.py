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

from linli.geo.selectors import tile_archive_configured

register = template.Library()


@register.simple_tag
def basemap_attrs(base_url: str = "") -> SafeString:
    """``base_url``: another source of the base map's data (default: the staff's)."""
    legend = {
        "community": _("社区边界"),
        "grid": _("网格"),
        "road": _("道路"),
        "footprint": _("楼栋轮廓"),
        "building": _("楼栋"),
        "facility": _("设施"),
        "north": _("北"),
    }
    tile_url, crs, archive_url, archive_kind = settings.LINLI_MAP_TILE_URL, settings.LINLI_MAP_TILE_CRS, "", ""
    archive = None if tile_url else tile_archive_configured(settings.LINLI_MAP_TILES_FILE)
    if archive is not None and archive.format == "mbtiles":
        tile_url, crs = reverse("web:map-tile", args=[0, 0, 0]).replace("0/0/0", "{z}/{x}/{y}"), "wgs84"
    elif archive is not None:
        archive_url, archive_kind, crs = reverse("web:map-tile-archive"), archive.kind, "wgs84"
    return format_html(
        'data-tile-url="{}" data-tile-crs="{}" data-tile-archive="{}" data-tile-archive-kind="{}" '
        'data-base-url="{}" data-legend="{}"',
        tile_url,
        crs,
        archive_url,
        archive_kind,
        base_url or reverse("web:map-base"),
        json.dumps(legend, ensure_ascii=False),
    )


@register.inclusion_tag("web/_tile_archive_scripts.html")
def tile_archive_scripts() -> dict[str, str]:
    """The PMTiles reader, only on a site that serves a PMTiles file (128 KB not sent otherwise)."""
    archive = None if settings.LINLI_MAP_TILE_URL else tile_archive_configured(settings.LINLI_MAP_TILES_FILE)
    return {"kind": archive.kind if archive is not None and archive.format == "pmtiles" else ""}


@register.simple_tag
def leaflet_available() -> bool:
    """Leaflet comes from npm at install time; without it pages show no map, not a broken one."""
    return finders.find("vendor/leaflet/leaflet.js") is not None
