from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "linli.care"
    label = "care"
    verbose_name = _("民生服务")

    def ready(self) -> None:
        # The catalogue sits below care: it exposes an approval hook, care records the benefit.
        from linli.care.services import benefit_from_application, benefit_import_record
        from linli.catalogue.services import application_approved_listeners
        from linli.fusion.persist import import_benefit_listeners

        if benefit_from_application not in application_approved_listeners:
            application_approved_listeners.append(benefit_from_application)
        # Fusion too: an imported list that says who receives a benefit records it.
        if benefit_import_record not in import_benefit_listeners:
            import_benefit_listeners.append(benefit_import_record)
