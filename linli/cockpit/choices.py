from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckState(models.TextChoices):
    """Where the check of one household in an incident stands."""

    PENDING = "pending", _("待核查")
    REACHED = "reached", _("已联系")
    SAFE = "safe", _("安全")
    NEEDS_HELP = "needs_help", _("需要帮助")
    EVACUATED = "evacuated", _("已疏散")
    NOT_HOME = "not_home", _("不在家")


# The states a grid worker may set (pending is where every household starts).
MARK_STATES: tuple[str, ...] = (
    CheckState.REACHED, CheckState.SAFE, CheckState.NEEDS_HELP, CheckState.EVACUATED, CheckState.NOT_HOME,
)
