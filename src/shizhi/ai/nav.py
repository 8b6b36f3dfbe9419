"""Navigation entries of the AI assistance pages (智能辅助), registered from AiConfig.ready."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_navigation() -> None:
    from shizhi.cockpit.navigation import NavGroup, NavItem, register, register_group

    # After the hotline (40), before the calendar (80).
    register_group(NavGroup(key="ai", label=_("智能辅助"), order=60))
    register(
        NavItem(
            key="ai_models",
            label=_("分类模型"),
            url_name="ai:model_list",
            permission="ai.manage_models",
            order=60,
            group="ai",
        )
    )
