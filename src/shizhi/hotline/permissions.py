"""Who may do what with cases (接诉即办权限), as data. Scope rules are in selectors.case_scope_q."""

from __future__ import annotations

from shizhi.core.models import Role

R = Role

CASE_STAFF = frozenset({R.ADMIN, R.OPERATOR, R.DISPATCHER, R.SUPERVISOR})
UNIT_STAFF = frozenset({R.UNIT_HANDLER, R.UNIT_LEADER})

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Seeing cases: the centre city-wide, units their own assignments, area roles their area, citizens their own.
    "hotline.view_cases": CASE_STAFF | UNIT_STAFF | {R.GRID_WORKER, R.PARTY_SECRETARY},
    "hotline.intake": frozenset({R.ADMIN, R.OPERATOR, R.DISPATCHER, R.GRID_WORKER}),  # record for someone
    "hotline.submit_own": frozenset({R.CITIZEN}),  # a signed-in citizen's own request
    "hotline.answer_directly": frozenset({R.ADMIN, R.OPERATOR, R.DISPATCHER}),
    "hotline.dispatch": frozenset({R.ADMIN, R.DISPATCHER}),
    "hotline.review_return": frozenset({R.ADMIN, R.DISPATCHER}),
    "hotline.merge": frozenset({R.ADMIN, R.OPERATOR, R.DISPATCHER}),
    "hotline.handle": UNIT_STAFF,  # accept, return, start, reply, assist, request extension: own unit only
    "hotline.decide_extension": frozenset({R.ADMIN, R.DISPATCHER, R.SUPERVISOR}),
    "hotline.supervise": frozenset({R.ADMIN, R.SUPERVISOR}),
    "hotline.callback": frozenset({R.ADMIN, R.OPERATOR}),
    "hotline.reopen": frozenset({R.ADMIN, R.OPERATOR, R.SUPERVISOR}),
    "hotline.manage_catalogue": frozenset({R.ADMIN, R.DISPATCHER}),
    "hotline.manage_knowledge": frozenset({R.ADMIN, R.DISPATCHER, R.OPERATOR}),
    "hotline.view_rates": frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.UNIT_LEADER}),
}
