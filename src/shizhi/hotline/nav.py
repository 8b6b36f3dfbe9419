"""Navigation entries of the hotline pages (registered from HotlineConfig.ready)."""


def register_navigation() -> None:
    """Filled in when the hotline pages exist."""
