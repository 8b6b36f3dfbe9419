"""Who may see and handle alerts (预警权限), as data. Scope (selectors.alerts_visible): city-wide roles see every
alert, unit roles the alerts of the devices their unit owns, area roles the alerts in their area subtree."""

from __future__ import annotations

from shizhi.core.models import Role

R = Role

PERMISSIONS: dict[str, frozenset[Role]] = {
    # See alerts, their timelines, the alert board, the grid risk view and the false-alarm rates.
    "warning.view": frozenset(
        {
            R.ADMIN,
            R.OPERATOR,
            R.DISPATCHER,
            R.SUPERVISOR,
            R.UNIT_HANDLER,
            R.UNIT_LEADER,
            R.GRID_WORKER,
            R.DATA_STEWARD,
        }
    ),
    # Acknowledge, dispatch (open a case), resolve, mark as a false alarm. Unit handlers: their unit's devices.
    "warning.handle": frozenset({R.ADMIN, R.OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.UNIT_HANDLER}),
}
