"""segmnv3 built as a wheel and installed into a folder, and commands run from that install
(``test_packaging``, and the tiny demo that ``test_demo`` checks: ``conftest.tiny_demo``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROW8 = "table7_row08_v3large_rf2_lraspp_f128_os16"


def install_wheel(work: Path) -> Path:
    """Build the wheel from a copy of the sources under ``work``, check that it holds the
    configs and the browser assets, install it into ``work / "site"`` and return that."""
    source = work / "source"  # building writes build/ and *.egg-info: never in the clone
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    shutil.copytree(REPO / "segmnv3", source / "segmnv3", ignore=ignore)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [
            *pip,
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        check=True,
    )
    wheel = next((work / "dist").glob("segmnv3-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert f"segmnv3/configs/{ROW8}.yaml" in names
    assert "segmnv3/configs/demo_synthetic.yaml" in names
    assert "segmnv3/web/static/index.html" in names  # the `segmnv3 serve` page
    assert "segmnv3/web/package-lock.json" in names
    vendor = REPO / "segmnv3" / "web" / "vendor"  # `npm ci` made it (make install)
    for path in sorted(vendor.glob("*.wasm")) + sorted(vendor.glob("*.mjs")):
        assert f"segmnv3/web/vendor/{path.name}" in names
    target = work / "site"
    subprocess.run(
        [
            *pip,
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    return target


def run_installed(target: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """``python *argv`` in ``cwd`` with the installed wheel (``target``) first on the path."""
    # The wheel's copy comes first on the path; dependencies come from this interpreter.
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
