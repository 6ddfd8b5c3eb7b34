"""The reading station on HiDPI and fractional scaling (QT_SCALE_FACTOR 2 and 1.5, and two
screens at 200 % and 100 %) under Xvfb.

Qt reads the scale factor when the application starts, so every check runs in a fresh
process: ``regard view --screenshot`` and ``regard display check --json`` as a user
would run them, and the pytest-qt cases of hidpi_cases.py in a child pytest. Sizes are
in PHYSICAL pixels (Qt's logical size x the device pixel ratio): the screenshot, the 1:1
"true pixel" mode (one image pixel on one screen pixel), the overlay text (as large on
screen as at scale 1, inside its viewport) and the screen sizes the display policy reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.display.screens_fixture import xcb_env, xvfb_screens
from viewer.dicom.phantom import write_phantom_series

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
MONITORS = ROOT / "tests" / "display" / "xrandr_monitors.py"
SCALES = ("2", "1.5")


def _env(display: str, scale: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    if scale is not None:
        env["QT_SCALE_FACTOR"] = scale
    return env


def regard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "viewer.cli", *args], capture_output=True,
                          text=True, timeout=180, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hidpi_phantom")
    write_phantom_series(folder, columns=128, rows=128, slices=40, slice_mm=3.0)
    return folder


@pytest.mark.parametrize("scale", SCALES)
def test_viewports_at_a_scale_factor(scale: str) -> None:
    """hidpi_cases.py in a child pytest (its own Xvfb, Qt started at ``scale``)."""
    cases = Path(__file__).with_name("hidpi_cases.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["QT_SCALE_FACTOR"] = scale
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(cases)], env=env, capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "5 passed" in out.stdout


def test_viewports_on_two_screens_of_different_scaling() -> None:
    """hidpi_mixed_cases.py in a child pytest on an Xvfb split into two RandR monitors,
    one at 200 % and one at 100 %: each render window counts its own screen's device
    pixels, whichever screen the mouse cursor is on, and follows a move between them."""
    cases = Path(__file__).with_name("hidpi_mixed_cases.py")
    with xvfb_screens(["3840x1200"]) as display:
        env = {k: v for k, v in xcb_env(display).items() if k != "QT_SCALE_FACTOR"}
        for args in (["Hi", "1920x1200+0+0", "primary"], ["Lo", "1920x1200+1920+0"]):
            subprocess.run([sys.executable, str(MONITORS), "set", *args], env=env, check=True,
                           timeout=30)
        env["QT_SCREEN_SCALE_FACTORS"] = "Hi=2;Lo=1"
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(cases)],
            env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout


def _screenshot(xvfb: str, series: Path, out: Path, scale: str | None) -> np.ndarray:
    r = regard("view", str(series), "--layout", "1x1", "--screenshot", str(out),
               env=_env(xvfb, scale))
    assert r.returncode == 0, r.stderr[-3000:]
    return np.asarray(Image.open(out).convert("RGB"))


def _body_width(rgb: np.ndarray) -> int:
    """Columns of the phantom's body (anything brighter than the black air around it) on a
    row above the middle one (the R and L letters sit on the middle row, at the edges,
    left out too)."""
    h, w = rgb.shape[:2]
    row = rgb[int(h * 0.42), w // 10: w - w // 10, 0].astype(int)
    body = np.flatnonzero(row > 20)
    return int(body.max() - body.min())


def _text_height(rgb: np.ndarray) -> int:
    """Height of the white top-left text block (patient name, ID, birth date)."""
    h, w = rgb.shape[:2]
    corner = rgb[: h // 12, : w // 6]  # above the image, whatever the scale
    rows = np.flatnonzero((corner > 230).all(axis=-1).any(axis=1))
    return int(rows.max() - rows.min())


def test_view_screenshots_are_in_physical_pixels(xvfb: str, series: Path,
                                                 tmp_path: Path) -> None:
    base = _screenshot(xvfb, series, tmp_path / "x1.png", None)
    assert base.shape[0] > 400 and base.shape[1] > 400
    for scale in SCALES:
        s = float(scale)
        rgb = _screenshot(xvfb, series, tmp_path / f"x{scale}.png", scale)
        # the same window, s times as many pixels each way (rounding: one pixel)
        assert abs(rgb.shape[0] - base.shape[0] * s) <= 1, scale
        assert abs(rgb.shape[1] - base.shape[1] * s) <= 1, scale
        # images fill the same part of the window: drawn with s times the pixels
        assert abs(_body_width(rgb) / _body_width(base) - s) < 0.03 * s, scale
        # text as large on screen as at scale 1: s times the pixels (not clipped or tiny)
        assert abs(_text_height(rgb) / _text_height(base) - s) < 0.15 * s, scale


@pytest.mark.parametrize("scale", SCALES)
def test_display_check_reports_physical_pixels(xvfb: str, scale: str) -> None:
    r = regard("display", "check", "--json", env=_env(xvfb, scale))
    assert r.returncode == 0, r.stderr[-2000:]
    (screen,) = json.loads(r.stdout)
    assert screen["device_pixel_ratio"] == pytest.approx(float(scale))
    assert (screen["width"], screen["height"]) == (1920, 1200)  # the Xvfb's own pixels
    assert screen["logical_width"] * float(scale) == pytest.approx(screen["width"], abs=1)
    assert screen["logical_height"] * float(scale) == pytest.approx(screen["height"], abs=1)
    assert screen["megapixels"] == pytest.approx(2.304)
