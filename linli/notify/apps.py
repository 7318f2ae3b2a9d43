from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "linli.notify"
    label = "notify"
    verbose_name = _("通知")

    def ready(self) -> None:
        # accounts sits below notify: it exposes a listener hook, notify registers here.
        from linli.accounts.services import security_notice_listeners
        from linli.notify.services import security_notice_relay

        if security_notice_relay not in security_notice_listeners:
            security_notice_listeners.append(security_notice_relay)
