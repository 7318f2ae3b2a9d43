from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        # Registers the system checks.
        from linli.core import checks  # noqa: F401
