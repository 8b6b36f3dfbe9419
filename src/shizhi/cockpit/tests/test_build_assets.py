"""scripts/build_assets.py: copies the front-end files, and never fails the build when Node.js is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "build_assets.py"


def _copy_script(root: Path) -> Path:
    (root / "scripts").mkdir()
    return Path(shutil.copy(SCRIPT, root / "scripts" / "build_assets.py"))


def test_without_npm_it_warns_and_exits_0(tmp_path: Path) -> None:
    script = _copy_script(tmp_path)
    result = subprocess.run(
        [sys.executable, str(script)], env={"PATH": ""}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "npm not found" in result.stderr
    assert "地图/图表组件未安装，请安装 Node.js 后运行 make assets" in result.stderr
    assert not (tmp_path / "src").exists()


def test_copies_the_dist_files_into_static_vendor(tmp_path: Path) -> None:
    script = _copy_script(tmp_path)
    modules = tmp_path / "node_modules"
    for name in ("leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css", "leaflet/dist/images/marker-icon.png",
                 "leaflet/LICENSE", "echarts/dist/echarts.min.js", "echarts/LICENSE", "htmx.org/dist/htmx.min.js",
                 "htmx.org/LICENSE"):  # fmt: skip
        (modules / name).parent.mkdir(parents=True, exist_ok=True)
        (modules / name).write_text(name, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), "--skip-install"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    vendor = tmp_path / "src" / "shizhi" / "static" / "vendor"
    assert sorted(str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file()) == [
        "echarts/LICENSE",
        "echarts/echarts.min.js",
        "htmx/LICENSE",
        "htmx/htmx.min.js",
        "leaflet/LICENSE",
        "leaflet/images/marker-icon.png",
        "leaflet/leaflet.css",
        "leaflet/leaflet.js",
    ]
