from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnethingConfig(AppConfig):
    """高效办成一件事: the key-items list with versions, applications fanned out to departments, promotion."""

    name = "shizhi.onething"
    label = "onething"
    verbose_name = _("高效办成一件事")

    def ready(self) -> None:
        from shizhi.core.permissions import register
        from shizhi.onething.permissions import PERMISSIONS

        register(PERMISSIONS)

        from shizhi.onething.seed import register_seed

        register_seed()
        self._optional_hooks()

    @staticmethod
    def _optional_hooks() -> None:
        # Navigation and demo applications are written separately (nav.py, demo_data.py); hook them when present.
        import importlib
        import importlib.util

        for module, function in (
            ("shizhi.onething.nav", "register_navigation"),
            ("shizhi.onething.demo_data", "register_demo"),
        ):
            if importlib.util.find_spec(module) is not None:
                getattr(importlib.import_module(module), function)()
