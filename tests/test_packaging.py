"""A non-editable install works: the wheel holds the configs, and the commands run from
any directory (no reliance on a clone's layout or on the working directory)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROW8 = "table7_row08_v3large_rf2_lraspp_f128_os16"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """segmnv3 built as a wheel from a copy of the sources and installed into a folder."""
    work = tmp_path_factory.mktemp("wheel")
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


def _run(target: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    # The wheel's copy comes first on the path; dependencies come from this interpreter.
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_installed_package_is_the_wheel_not_the_clone(installed, tmp_path):
    result = _run(installed, tmp_path, "-c", "import segmnv3.configs as c; print(c.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed)


def test_profile_by_config_name_from_another_directory(installed, tmp_path):
    result = _run(installed, tmp_path, "-m", "segmnv3.cli", "profile", "--config", ROW8)
    assert result.returncode == 0, result.stderr
    assert ROW8 in result.stdout
    assert "1.51M" in result.stdout  # row 8's parameter count (paper: 1.51M)


@pytest.mark.slow
def test_tiny_demo_from_another_directory(installed, tmp_path):
    result = _run(
        installed,
        tmp_path,
        "-m",
        "segmnv3.cli",
        "demo",
        "--tiny",
        "--out",
        "demo",
        "--device",
        "cpu",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "segmnv3 demo finished" in result.stdout
    assert (tmp_path / "demo" / "run" / "last.pt").is_file()
    assert (tmp_path / "demo" / "bench" / "bench.json").is_file()
