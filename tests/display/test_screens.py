"""`regard display check` on real screens of known sizes (Xvfb, Qt offscreen HiDPI configs).

Each configuration runs the command in its own process, so each gets a fresh
QGuiApplication on its own X server or offscreen screen set.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.display.screens_fixture import display_check, offscreen_env, xcb_env, xvfb_screens

pytestmark = pytest.mark.gui

# size -> (class, fit for CT, fit for CR, fit for MG)
EXPECTED = {
    "1600x1200": ("2MP", True, False, False),
    "1200x1600": ("2MP", True, False, False),
    "1280x1024": (None, False, False, False),
    "1536x2048": ("3MP", True, True, False),
    "1920x1080": ("2MP", True, False, False),
    "2560x1440": ("3MP", True, True, False),
    "2048x2560": ("5MP", True, True, True),
    "3840x2160": ("5MP", True, True, True),
}


@pytest.mark.parametrize("size", list(EXPECTED))
def test_single_screen_size_class_and_verdict(size: str) -> None:
    cls, _, cr, _ = EXPECTED[size]
    w, h = (int(v) for v in size.split("x"))
    with xvfb_screens([size]) as display:
        [screen] = display_check(xcb_env(display), "CR")
    assert (screen["width"], screen["height"]) == (w, h)
    assert screen["megapixels"] == pytest.approx(w * h / 1e6, abs=1e-3)
    assert screen["class"] == cls
    assert screen["fit"] is cr and screen["required"] == "3MP"


def test_every_size_and_modality_at_once_as_separate_x_screens() -> None:
    sizes = list(EXPECTED)
    column = {"2MP": 1, "3MP": 2, "5MP": 3}
    with xvfb_screens(sizes) as display:
        env = xcb_env(display)
        for modality, need in (
            ("CT", "2MP"),
            ("MR", "2MP"),
            ("US", "2MP"),
            ("CR", "3MP"),
            ("DX", "3MP"),
            ("MG", "5MP"),
            ("DBT", "5MP"),
        ):
            rows = display_check(env, modality)
            assert [f"{r['width']}x{r['height']}" for r in rows] == sizes
            assert [r["class"] for r in rows] == [EXPECTED[s][0] for s in sizes]
            assert [r["required"] for r in rows] == [need] * len(sizes)
            expected = [EXPECTED[s][column[need]] for s in sizes]
            assert [r["fit"] for r in rows] == expected, modality


def test_two_screens_get_their_own_verdicts() -> None:
    with xvfb_screens(["1280x1024", "1536x2048"]) as display:
        env = xcb_env(display)
        small, big = display_check(env, "CR")
        assert (small["fit"], big["fit"]) == (False, True)
        text = subprocess.run(
            [sys.executable, "-m", "viewer.cli", "display", "check", "--modality", "CR"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    assert "Not for diagnosis: this screen is 1.3 MP, CR needs 3 MP" in text
    assert "1536x2048" in text and text.count("needs 3MP") == 2


def test_hidpi_screen_counts_physical_pixels(tmp_path: Path) -> None:
    # A 4K panel at 200%: Qt reports 1920x1080 logical pixels and DPR 2.
    env = offscreen_env(tmp_path, [{"name": "UHD-200%", "width": 1920, "height": 1080, "dpr": 2.0}])
    [screen] = display_check(env, "MG")
    assert (screen["logical_width"], screen["device_pixel_ratio"]) == (1920, 2.0)
    assert (screen["width"], screen["height"]) == (3840, 2160)
    assert screen["class"] == "5MP" and screen["fit"] is True


def test_hidpi_by_scaling_factor_as_on_x11(tmp_path: Path) -> None:
    # X11 style: 3840x2160 native at 192 dpi -> Qt scales by 2.
    env = offscreen_env(
        tmp_path,
        [{"name": "UHD", "width": 3840, "height": 2160, "logicalDpi": 192, "logicalBaseDpi": 96}],
    )
    [screen] = display_check(env)
    assert screen["logical_width"] == 1920 and screen["device_pixel_ratio"] == 2.0
    assert (screen["width"], screen["height"]) == (3840, 2160)
    assert "fit" not in screen


def test_named_positioned_screens(tmp_path: Path) -> None:
    env = offscreen_env(
        tmp_path,
        [
            {"name": "Office", "x": 0, "y": 0, "width": 1280, "height": 1024},
            {"name": "Barco-5MP", "x": 1280, "y": 0, "width": 2048, "height": 2560},
        ],
    )
    rows = {r["name"]: r for r in display_check(env, "MG")}
    assert rows["Office"]["fit"] is False and rows["Barco-5MP"]["fit"] is True
    assert rows["Barco-5MP"]["x"] == 1280


def test_no_display_is_a_clear_error() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    out = subprocess.run(
        [sys.executable, "-m", "viewer.cli", "display", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "no display" in out.stderr


def test_dead_x_display_is_a_clear_error_not_a_qt_abort() -> None:
    import os

    env = dict(os.environ, DISPLAY=":399", QT_QPA_PLATFORM="xcb")
    for args in (["check"], ["pattern", "--show"]):
        out = subprocess.run(
            [sys.executable, "-m", "viewer.cli", "display", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 1
        assert "cannot reach X display :399" in out.stderr
