"""Navigation entries of the early-warning pages (风险预警), registered from WarningConfig.ready: the alert board
and the grid risk view; the device map joins the same menu from ``shizhi.sensing.nav``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_navigation() -> None:
    from shizhi.cockpit.navigation import NavGroup, NavItem, register, register_group
    from shizhi.sensing.nav import GROUP_KEY, GROUP_LABEL, GROUP_ORDER

    register_group(NavGroup(key=GROUP_KEY, label=GROUP_LABEL, order=GROUP_ORDER))
    for i, (key, label, url_name) in enumerate(
        [
            ("warning_board", _("预警看板"), "warning:board"),
            ("warning_risk", _("网格风险"), "warning:risk"),
        ]
    ):
        register(
            NavItem(
                key=key,
                label=label,
                url_name=url_name,
                permission="warning.view",
                order=GROUP_ORDER + i,
                group=GROUP_KEY,
            )
        )
