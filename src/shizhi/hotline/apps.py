from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "shizhi.hotline"
    label = "hotline"
    verbose_name = _("接诉即办")

    def ready(self) -> None:
        from shizhi.core.permissions import register
        from shizhi.hotline.permissions import PERMISSIONS

        register(PERMISSIONS)

        from shizhi.hotline.demo_data import register_demo
        from shizhi.hotline.nav import register_navigation

        register_navigation()
        register_demo()
