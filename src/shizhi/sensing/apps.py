from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SensingConfig(AppConfig):
    """IoT sensing (物联感知): devices, the readings pipe (HTTP batch and MQTT), quarantine, hourly rollups."""

    name = "shizhi.sensing"
    label = "sensing"
    verbose_name = _("物联感知")

    def ready(self) -> None:
        from shizhi.core.permissions import register
        from shizhi.sensing.permissions import PERMISSIONS

        register(PERMISSIONS)

        from django.db.models.signals import post_delete, post_save

        from shizhi.sensing.detection import forget_facts
        from shizhi.sensing.ingest import forget_catalogue
        from shizhi.sensing.models import Device, DeviceType, Quantity

        for model in (Device, DeviceType, Quantity):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_catalogue,
                    sender=model,
                    dispatch_uid=f"sensing-catalogue-{model.__name__}-{id(signal)}",
                )
                signal.connect(
                    forget_facts, sender=model, dispatch_uid=f"sensing-facts-{model.__name__}-{id(signal)}"
                )
        try:
            from shizhi.sensing.nav import register_navigation
        except ImportError:  # pages not built yet
            return
        register_navigation()

        from shizhi.sensing.demo_data import register_demo

        register_demo()  # after the hotline's cases (INSTALLED_APPS order): alerts open cases
