from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "linli.field"
    label = "field"
    verbose_name = _("网格员应用")
