from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarningConfig(AppConfig):
    """Early warning (风险预警): streaming detectors, warning levels, alerts, the NAB evaluation."""

    name = "shizhi.warning"
    label = "warning"
    verbose_name = _("风险预警")
