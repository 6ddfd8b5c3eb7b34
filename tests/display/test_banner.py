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
MONITORS = Path(__file__).with_name("xrandr_monitors.py")


def run_cases(env: dict[str, str], expected: int = 3, select: str = "not removed") -> None:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)]
    cmd += ["-k", select] if select else []
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert f"{expected} passed" in out.stdout


def test_banner_under_xvfb_two_x_screens() -> None:
    with xvfb_screens(["1280x1024", "1536x2048"]) as display:
        env = xcb_env(display)
        env["BANNER_MOVE"] = "setscreen"
        run_cases(env)


def test_banner_with_monitors_plugged_in_and_out() -> None:
    """One Xvfb screen split into two RandR monitors (as two screens on one desktop):
    the window is moved across, and the 3 MP monitor is removed and added back."""
    with xvfb_screens(["2816x2048"]) as display:
        env = xcb_env(display)
        for args in (["Office", "1280x1024+0+0", "primary"], ["Diag", "1536x2048+1280+0"]):
            subprocess.run(
                [sys.executable, str(MONITORS), "set", *args], env=env, check=True, timeout=30
            )
        env["BANNER_MOVE"] = "move"
        run_cases(env, expected=4, select="")


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
