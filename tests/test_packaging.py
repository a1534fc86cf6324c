"""A non-editable install works: the wheel holds the configs, and the commands run from
any directory (no reliance on a clone's layout or on the working directory).

The wheel is built and installed once per session (``conftest.installed_wheel``, which
checks its contents); the tiny demo from another directory is ``conftest.tiny_demo``,
whose outputs ``test_demo`` checks in detail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wheel import ROW8, run_installed


def test_installed_package_is_the_wheel_not_the_clone(installed_wheel, tmp_path):
    result = run_installed(
        installed_wheel, tmp_path, "-c", "import segmnv3.configs as c; print(c.__file__)"
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed_wheel)


def test_profile_by_config_name_from_another_directory(installed_wheel, tmp_path):
    result = run_installed(
        installed_wheel, tmp_path, "-m", "segmnv3.cli", "profile", "--config", ROW8
    )
    assert result.returncode == 0, result.stderr
    assert ROW8 in result.stdout
    assert "1.51M" in result.stdout  # row 8's parameter count (paper: 1.51M)


@pytest.mark.slow
def test_tiny_demo_from_another_directory(tiny_demo):
    out, result = tiny_demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "segmnv3 demo finished" in result.stdout
    assert (out / "run" / "last.pt").is_file()
    assert (out / "bench" / "bench.json").is_file()
