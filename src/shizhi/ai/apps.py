from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AiConfig(AppConfig):
    """AI assistance (智能辅助): trainable text classifiers, similar cases, reply review."""

    name = "shizhi.ai"
    label = "ai"
    verbose_name = _("智能辅助")

    def ready(self) -> None:
        from shizhi.ai.nav import register_navigation
        from shizhi.ai.permissions import PERMISSIONS
        from shizhi.core.permissions import register

        register(PERMISSIONS)
        register_navigation()

        from shizhi.ai.demo_data import register_demo

        register_demo()  # after the hotline's cases (INSTALLED_APPS order)
