from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "linli.devices"
    label = "devices"
    verbose_name = _("物联感知")
