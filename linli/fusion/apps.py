from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FusionConfig(AppConfig):
    name = "linli.fusion"
    label = "fusion"
    verbose_name = _("数据融合")
