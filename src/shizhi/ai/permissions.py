"""Who may do what with the classifiers (智能辅助权限), as data."""

from __future__ import annotations

from shizhi.core.models import Role
from shizhi.hotline.permissions import PERMISSIONS as HOTLINE_PERMISSIONS

R = Role

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Train, compare, activate and roll back models; see their evaluation.
    "ai.manage_models": frozenset({R.ADMIN}),
    # Ask for suggestions while recording a case: whoever may record a case for someone (受理).
    "ai.suggest": HOTLINE_PERMISSIONS["hotline.intake"],
}
