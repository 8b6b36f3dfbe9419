"""Navigation entries of the hotline pages (接诉即办), registered from HotlineConfig.ready: each one shown to
the roles whose permission opens the page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ENTRIES = [
    # key, label, url name, permission
    ("hotline_intake", _("受理"), "hotline:intake", "hotline.intake"),
    ("hotline_dispatch", _("派单"), "hotline:dispatch", "hotline.dispatch"),
    ("hotline_inbox", _("待办"), "hotline:inbox", "hotline.handle"),
    ("hotline_cases", _("工单"), "hotline:case_list", "hotline.view_cases"),
    ("hotline_board", _("督办考核"), "hotline:board", "hotline.view_rates"),
    ("hotline_knowledge", _("知识库"), "hotline:knowledge", "hotline.view_cases"),
    ("hotline_catalogue", _("派单目录"), "hotline:catalogue", "hotline.manage_catalogue"),
    # Citizens: their own requests, and the portal to make a new one.
    ("hotline_mine", _("我的诉求"), "hotline:case_list", "hotline.submit_own"),
    ("hotline_portal", _("我要反映"), "hotline:portal", "hotline.submit_own"),
]


def register_navigation() -> None:
    from shizhi.cockpit.navigation import NavGroup, NavItem, register, register_group

    # One menu after the core pages (areas 10, units 20), before the calendar (80).
    register_group(NavGroup(key="hotline", label=_("接诉即办"), order=40))
    for i, (key, label, url_name, permission) in enumerate(ENTRIES):
        register(
            NavItem(
                key=key, label=label, url_name=url_name, permission=permission, order=40 + i, group="hotline"
            )
        )
