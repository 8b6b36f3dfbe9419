#!/usr/bin/env python3
"""Install the front-end packages from the npm registry and copy the files the pages load into
``src/shizhi/static/vendor/`` (generated, not committed).

Pure standard library, so it runs before anything else is installed. Without Node.js, or when npm fails
(offline), it warns and exits 0: the pages then show a note instead of the maps and charts.

Usage: python scripts/build_assets.py [--skip-install]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "src" / "shizhi" / "static" / "vendor"

# (source under node_modules, destination under static/vendor); a directory is copied whole.
FILES: list[tuple[str, str]] = [
    ("leaflet/dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet/dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet/dist/images", "leaflet/images"),
    ("leaflet/LICENSE", "leaflet/LICENSE"),
    ("echarts/dist/echarts.min.js", "echarts/echarts.min.js"),
    ("echarts/LICENSE", "echarts/LICENSE"),
    ("htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"),
    ("htmx.org/LICENSE", "htmx/LICENSE"),
]

HINT = "地图/图表组件未安装，请安装 Node.js 后运行 make assets (map and chart components are not installed)"


def warn(message: str) -> None:
    sys.stderr.write(f"build_assets: WARNING: {message}\n")


def npm_install() -> bool:
    npm = shutil.which("npm")
    if npm is None:
        warn("npm not found; install Node.js (>= 18) to get the maps and charts.")
        return False
    has_lock = (ROOT / "package-lock.json").exists()
    command = [npm, "ci" if has_lock else "install", "--no-audit", "--no-fund"]
    print("build_assets: running npm", " ".join(command[1:]), flush=True)
    try:
        result = subprocess.run(command, cwd=ROOT, check=False)
    except OSError as exc:
        warn(f"could not run npm: {exc}")
        return False
    if result.returncode != 0:
        warn(f"npm exited with status {result.returncode}.")
        return False
    return True


def copy_files() -> list[str]:
    """Copy every listed file; returns the sources that were missing."""
    missing = []
    for source, destination in FILES:
        src = NODE_MODULES / source
        dst = VENDOR / destination
        if not src.exists():
            missing.append(source)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-install", action="store_true", help="only copy from an existing node_modules/"
    )
    args = parser.parse_args(argv)
    if not args.skip_install and not npm_install() and not NODE_MODULES.exists():
        warn(HINT)
        return 0
    missing = copy_files()
    if missing:
        warn("missing in node_modules/: " + ", ".join(missing))
        warn(HINT)
        return 0
    print(f"build_assets: copied {len(FILES)} items into {VENDOR.relative_to(ROOT)}/", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
