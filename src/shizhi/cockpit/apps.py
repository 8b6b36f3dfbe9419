from django.apps import AppConfig


class CockpitConfig(AppConfig):
    name = "shizhi.cockpit"
    label = "cockpit"
    verbose_name = "城市驾驶舱"

    def ready(self) -> None:
        from shizhi.cockpit.navigation import NavItem, register

        # The shell's own entries and the core pages; later modules register theirs from their own ready().
        register(NavItem(key="home", label="首页", url_name="cockpit:home", order=0))
        register(NavItem(key="areas", label="行政区划", url_name="core:area_index", order=10))
        register(NavItem(key="units", label="承办单位", url_name="core:unit_list", order=20))
        register(NavItem(key="calendar", label="工作日历", url_name="core:calendar", order=80))
        register(
            NavItem(
                key="audit", label="审计日志", url_name="core:audit", permission="core.view_audit", order=90
            )
        )
        register(
            NavItem(
                key="admin",
                label="系统管理",
                url_name="admin:index",
                permission="core.use_admin_site",
                order=99,
            )
        )
