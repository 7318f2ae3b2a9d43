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
        # A registry bulk load stands the sweep's stamp triggers down and asks care to catch up.
        from linli.care.services.sweep_changes import sweep_changes_after_bulk_load
        from linli.registry.services.bulk_load import CatchUp, bulk_load_catch_ups

        if not any(c.run is sweep_changes_after_bulk_load for c in bulk_load_catch_ups):
            bulk_load_catch_ups.append(CatchUp("linli_sweep_", sweep_changes_after_bulk_load))
