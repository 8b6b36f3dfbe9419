from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shizhi.core"
    label = "core"
    verbose_name = _("基础数据")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from shizhi.core.models import Area, Grid
        from shizhi.core.spatial import bump

        def geometry_changed(**_: object) -> None:
            bump()

        for model in (Area, Grid):
            post_save.connect(
                geometry_changed, sender=model, weak=False, dispatch_uid=f"spatial-{model.__name__}"
            )
            post_delete.connect(
                geometry_changed, sender=model, weak=False, dispatch_uid=f"spatial-del-{model.__name__}"
            )
