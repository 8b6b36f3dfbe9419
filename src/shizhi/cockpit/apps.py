from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CockpitConfig(AppConfig):
    name = "shizhi.cockpit"
    label = "cockpit"
    verbose_name = _("城市驾驶舱")

    def ready(self) -> None:
        from shizhi.cockpit.navigation import NavItem, register

        # The shell's own entries and the core pages; later modules register theirs from their own ready().
        # Labels are lazy: each request shows them in its own language.
        register(NavItem(key="home", label=_("首页"), url_name="cockpit:home", order=0))
        register(NavItem(key="areas", label=_("行政区划"), url_name="core:area_index", order=10))
        register(NavItem(key="units", label=_("承办单位"), url_name="core:unit_list", order=20))
        register(NavItem(key="calendar", label=_("工作日历"), url_name="core:calendar", order=80))
        register(
            NavItem(
                key="audit",
                label=_("审计日志"),
                url_name="core:audit",
                permission="core.view_audit",
                order=90,
            )
        )
        register(
            NavItem(
                key="admin",
                label=_("系统管理"),
                url_name="admin:index",
                permission="core.use_admin_site",
                order=99,
            )
        )
