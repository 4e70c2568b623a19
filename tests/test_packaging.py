"""A wheel, installed into a fresh virtual environment, finds its bundled data from any directory.

The oracle is the checkout's own ``layoutcalc report``: the installed copy must print the same
verdict, byte for byte, from a directory that holds no ``data/``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_reports_from_any_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(wheels), str(REPO)], capture_output=True, text=True)
    if built.returncode != 0 and "No module named" in built.stderr:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip()[-200:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("layoutcalc-*.whl")
    # The dependencies come from this interpreter's site-packages; the package itself only from the wheel.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                                "--force-reinstall", "-q", str(wheel)], capture_output=True, text=True)
    if installed.returncode != 0 and "no such option: --python" in installed.stderr:
        installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                                   capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import layoutcalc, sys; sys.stdout.write(layoutcalc.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where, f"the wheel's copy was not the one imported: {where}"
    wheel_report = subprocess.run([str(python), "-m", "layoutcalc", "report"], cwd=elsewhere,
                                  capture_output=True, text=True)
    checkout_report = subprocess.run([sys.executable, "-m", "layoutcalc", "report"], cwd=REPO,
                                     capture_output=True, text=True)
    assert wheel_report.returncode == 0, wheel_report.stderr
    assert checkout_report.returncode == 0, checkout_report.stderr
    assert "pid" in wheel_report.stdout and "2.6.22" in wheel_report.stdout
    assert wheel_report.stdout == checkout_report.stdout
