"""The viewport banner follows its window across screens (pytest-qt, in a child pytest).

Each screen set needs a fresh QApplication, so the pytest-qt cases in
banner_cases.py run in a child pytest: under an Xvfb with two X screens
(1280x1024 and 1536x2048, the window changes X screen with QWindow.setScreen)
and under Qt's offscreen platform with the same two screens side by side (the
window is moved across the desktop).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.display.screens_fixture import offscreen_env, xcb_env, xvfb_screens

pytestmark = pytest.mark.gui

CASES = Path(__file__).with_name("banner_cases.py")


def run_cases(env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)]
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout


def test_banner_under_xvfb_two_x_screens() -> None:
    with xvfb_screens(["1280x1024", "1536x2048"]) as display:
        env = xcb_env(display)
        env["BANNER_MOVE"] = "setscreen"
        run_cases(env)


def test_banner_on_a_two_screen_desktop(tmp_path: Path) -> None:
    env = offscreen_env(
        tmp_path,
        [
            {"name": "Office", "x": 0, "y": 0, "width": 1280, "height": 1024},
            {"name": "Diag3MP", "x": 1280, "y": 0, "width": 1536, "height": 2048},
        ],
    )
    env["BANNER_MOVE"] = "move"
    run_cases(env)
