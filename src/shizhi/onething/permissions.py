"""Who may do what with the 一件事 list, applications and promotion (高效办成一件事权限), as data.

The list office (清单管理) is the platform's data bureau (市政务服务和数据管理局), whose staff hold the data steward
role; departments handle their own sub-tasks; anyone signed in may apply. Scope rules are in ``selectors``."""

from __future__ import annotations

from shizhi.core.models import Role

R = Role

LIST_OFFICE = frozenset({R.ADMIN, R.DATA_STEWARD})
UNIT_STAFF = frozenset({R.UNIT_HANDLER, R.UNIT_LEADER})

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Draft, submit, publish and withdraw versions of the list; see drafts and the change log.
    "onething.manage_list": LIST_OFFICE,
    # Accept, complete and reject the sub-tasks of one's own unit; grant 容缺 on them.
    "onething.handle": UNIT_STAFF,
    # File an application for oneself (or, at a window, for someone): any signed-in user.
    "onething.apply": frozenset(Role),
    # See applications beyond one's own and one's unit's sub-tasks: city-wide, or in one's area.
    "onething.view_applications": frozenset({R.ADMIN, R.SUPERVISOR}),
    # Roll-out states, milestones, performance, alerts and monthly reports (常态化推进).
    "onething.view_promotion": frozenset({R.ADMIN, R.SUPERVISOR, R.DATA_STEWARD, R.UNIT_LEADER}),
    "onething.manage_promotion": LIST_OFFICE,
}
