from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarningConfig(AppConfig):
    """Early warning (风险预警): streaming detectors, warning levels, alerts, the NAB evaluation."""

    name = "shizhi.warning"
    label = "warning"
    verbose_name = _("风险预警")

    def ready(self) -> None:
        from shizhi.core.permissions import register
        from shizhi.hotline.signals import case_status_changed
        from shizhi.warning.permissions import PERMISSIONS
        from shizhi.warning.services import on_case_status_changed

        register(PERMISSIONS)
        # A sensor case answered or closed at the hotline resolves the alert that opened it.
        case_status_changed.connect(on_case_status_changed, dispatch_uid="warning.alert_case_finished")

        from shizhi.warning.nav import register_navigation

        register_navigation()
