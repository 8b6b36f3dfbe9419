"""Who may do what with devices and readings (物联感知权限), as data."""

from __future__ import annotations

from shizhi.core.models import Role

R = Role

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Register devices, issue device tokens, put a device into maintenance.
    "sensing.manage_devices": frozenset({R.ADMIN, R.DATA_STEWARD}),
    # Post readings with a personal token (a gateway or an integration); devices use their own device token.
    "sensing.ingest": frozenset({R.ADMIN, R.DATA_STEWARD}),
    # See devices, their readings and the quarantine (scoped: a unit sees the devices it owns).
    "sensing.view": frozenset(
        {
            R.ADMIN,
            R.DATA_STEWARD,
            R.OPERATOR,
            R.DISPATCHER,
            R.SUPERVISOR,
            R.UNIT_LEADER,
            R.UNIT_HANDLER,
            R.GRID_WORKER,
        }
    ),
}
