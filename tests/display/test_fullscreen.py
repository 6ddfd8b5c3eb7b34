"""Test patterns shown full-screen 1:1 at the native resolution (pixels read back from X)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.display.screens_fixture import offscreen_env, xcb_env, xvfb_screens

pytestmark = pytest.mark.gui

PROBE = Path(__file__).with_name("fullscreen_probe.py")
ROOT = Path(__file__).parents[2]


def probe(env: dict[str, str], mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, str(PROBE), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size", ["1600x1200", "1536x2048"])
def test_pattern_reaches_the_x_screen_pixel_for_pixel(size: str) -> None:
    w, h = (int(v) for v in size.split("x"))
    with xvfb_screens([size]) as display:
        result = probe(xcb_env(display), "x11")
    assert result == {"physical": [w, h], "shown": [w, h], "differ": 0}


def test_hidpi_screen_gets_native_pixels(tmp_path: Path) -> None:
    env = offscreen_env(tmp_path, [{"name": "UHD", "width": 1920, "height": 1080, "dpr": 2.0}])
    assert probe(env, "offscreen") == {"physical": [3840, 2160], "shown": [3840, 2160], "differ": 0}


def test_cli_show_uses_the_native_size_and_closes() -> None:
    cmd = [
        sys.executable,
        "-m",
        "viewer.cli",
        "display",
        "pattern",
        "--kind",
        "ln",
        "--number",
        "9",
        "--show",
        "--seconds",
        "0.3",
    ]
    with xvfb_screens(["1280x1024"]) as display:
        env = xcb_env(display)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "TG18-LN12-09" in out.stdout and "1280x1024" in out.stdout
        wrong = subprocess.run(
            [*cmd, "--size", "1600x1200"], env=env, capture_output=True, text=True, timeout=60
        )
    assert wrong.returncode == 1 and "native 1280x1024" in wrong.stderr
