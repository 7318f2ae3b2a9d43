from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations: processes (supervisor, server, task workers and their leases), health,
    metrics, stuck work, upgrades. An adapter at the top: it knows the job kinds of the
    apps below it and owns no business rules of theirs."""

    name = "linli.ops"
    label = "ops"
    verbose_name = _("运行维护")

    def ready(self) -> None:
        from linli.ops import checks  # noqa: F401 -- registers the system checks
