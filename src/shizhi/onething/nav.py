"""Navigation entries of 高效办成一件事, registered from OnethingConfig.ready: each shown to the roles whose
permission opens the page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ENTRIES = [
    # key, label, url name, permission
    ("onething_guide", _("办事指南"), "onething:guide", "onething.apply"),
    ("onething_mine", _("我的申请"), "onething:applications", "onething.apply"),
    ("onething_inbox", _("部门收件箱"), "onething:inbox", "onething.handle"),
    ("onething_manage", _("清单管理"), "onething:manage", "onething.manage_list"),
    ("onething_promotion", _("常态化推进"), "onething:promotion", "onething.view_promotion"),
]


def register_navigation() -> None:
    from shizhi.cockpit.navigation import NavGroup, NavItem, register, register_group

    # After the hotline (40), before the AI pages (60).
    register_group(NavGroup(key="onething", label=_("高效办成一件事"), order=50))
    for i, (key, label, url_name, permission) in enumerate(ENTRIES):
        register(
            NavItem(
                key=key, label=label, url_name=url_name, permission=permission, order=50 + i, group="onething"
            )
        )
