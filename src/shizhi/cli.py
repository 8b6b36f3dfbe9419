"""The ``shizhi`` command: Django's management commands behind one entry point, settings preset.

``shizhi migrate``, ``shizhi serve``, ``shizhi seed demo``, ``shizhi createuser`` ... work from any folder.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shizhi.config.settings")
    from shizhi.config.env import ConfigError

    args = list(sys.argv if argv is None else ["shizhi", *argv])
    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(args)
    except ConfigError as exc:
        sys.stderr.write(f"shizhi: configuration error: {exc}\n")
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
