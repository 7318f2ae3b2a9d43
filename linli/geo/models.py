"""The area tree: district > street > community > zone > grid, with GeoJSON boundaries."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStampedModel
from linli.geo.choices import AreaLevel


class Area(TimeStampedModel):
    """One node of the area tree.

    ``code`` follows CJ/T 349 / DB11: 6-digit administrative code of the district, then 3
    digits street, 3 community and 3 grid (zones take a code of their own under the
    community). ``path`` is the chain of ancestor ids (``/1/4/17/``) so that "everything
    under this area" is one indexed prefix query.
    """

    level = models.PositiveSmallIntegerField(_("层级"), choices=AreaLevel.choices, db_index=True)
    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False)
    # GeoJSON geometry (Polygon or MultiPolygon) in WGS-84 lon/lat.
    boundary = models.JSONField(_("边界"), null=True, blank=True)
    centroid_lon = models.FloatField(_("中心经度"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("区域")
        verbose_name_plural = _("区域")

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    @property
    def is_grid(self) -> bool:
        return self.level == AreaLevel.GRID


class Road(TimeStampedModel):
    """A named road (道路) of the base map: a GeoJSON LineString or MultiLineString in WGS-84.

    Not personal data and not scoped by area: a map shows the roads in the box it draws.
    The bounding-box columns let "roads in this box" be one indexed query without reading
    every geometry. ``source`` says where the line came from (``demo``, a file name) so a
    reload replaces its own roads only.
    """

    name = models.CharField(_("名称"), max_length=100)
    geometry = models.JSONField(_("线形"))
    source = models.CharField(_("来源"), max_length=100, blank=True)
    min_lon = models.FloatField(_("最小经度"))
    min_lat = models.FloatField(_("最小纬度"))
    max_lon = models.FloatField(_("最大经度"))
    max_lat = models.FloatField(_("最大纬度"))

    class Meta:
        ordering: ClassVar[list[str]] = ["name", "id"]
        verbose_name = _("道路")
        verbose_name_plural = _("道路")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["min_lon", "max_lon"], name="road_lon_idx"),
            models.Index(fields=["source", "name"], name="road_source_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name
