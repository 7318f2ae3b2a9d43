from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.IntegerChoices):
    """District > street > community > zone > grid (区 > 街道 > 社区 > 片区 > 网格)."""

    DISTRICT = 1, _("区")
    STREET = 2, _("街道")
    COMMUNITY = 3, _("社区")
    ZONE = 4, _("片区")
    GRID = 5, _("网格")


# Which level may sit directly under which: zones are optional between community and grid.
ALLOWED_PARENT_LEVELS: dict[int, set[int]] = {
    AreaLevel.DISTRICT: set(),
    AreaLevel.STREET: {AreaLevel.DISTRICT},
    AreaLevel.COMMUNITY: {AreaLevel.STREET},
    AreaLevel.ZONE: {AreaLevel.COMMUNITY},
    AreaLevel.GRID: {AreaLevel.COMMUNITY, AreaLevel.ZONE},
}
