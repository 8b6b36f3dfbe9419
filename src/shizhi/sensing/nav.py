"""Navigation entry of the sensing pages (物联感知), registered from SensingConfig.ready: the device map, in the
early-warning menu (风险预警) next to the alert board and the grid risk view (see ``shizhi.warning.nav``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# One menu for sensing and warning; both apps register it (whichever loads first), so neither depends on the other.
GROUP_KEY = "warning"
GROUP_LABEL = _("风险预警")
GROUP_ORDER = 70  # after the hotline (40), onething (50) and the AI pages (60)


def register_navigation() -> None:
    from shizhi.cockpit.navigation import NavGroup, NavItem, register, register_group

    register_group(NavGroup(key=GROUP_KEY, label=GROUP_LABEL, order=GROUP_ORDER))
    register(
        NavItem(
            key="sensing_devices",
            label=_("设备地图"),
            url_name="sensing:device_map",
            permission="sensing.view",
            order=GROUP_ORDER + 3,
            group=GROUP_KEY,
        )
    )
