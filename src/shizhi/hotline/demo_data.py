"""The hotline's part of the demo city (registered from HotlineConfig.ready)."""


def register_demo() -> None:
    """Filled in when the demo year of cases exists."""
