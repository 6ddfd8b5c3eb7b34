"""`regard view PATH --screenshot OUT.png` end to end, in a fresh process.

Real DICOM files (the DICOM layer's phantom series) go through the index,
the assembler, the access gate and the VTK views; the PNG is checked for
content and orientation (bead: patient LEFT, ANTERIOR, HEAD fifth).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viewer.dicom.phantom import write_phantom_series

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("view_phantom")
    write_phantom_series(folder, columns=128, rows=128, slices=50, slice_mm=3.0)
    return folder


def regard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "viewer.cli", *args], capture_output=True,
                          text=True, timeout=180, env=env)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def _quadrants(rgb: np.ndarray) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    return [rgb[:h // 2, :w // 2], rgb[:h // 2, w // 2:], rgb[h // 2:, :w // 2],
            rgb[h // 2:, w // 2:]]


def test_view_mpr_screenshot_under_xvfb(xvfb: str, series: Path, tmp_path: Path) -> None:
    out = tmp_path / "mpr.png"
    r = regard("view", str(series), "--layout", "mpr", "--screenshot", str(out),
               env=_env(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith(str(out))
    rgb = np.asarray(Image.open(out).convert("RGB"))
    assert rgb.shape[0] > 400 and rgb.shape[1] > 400
    for n, q in enumerate(_quadrants(rgb)[:3]):
        assert q[20:-20, 20:-20].std() > 10, f"MPR view {n} is blank"
    # the volume, not only a status line ("Preparing the 3-D view..." covers ~0.5 %)
    assert (_quadrants(rgb)[3].max(axis=-1) > 15).mean() > 0.03, "3-D view is blank"


def test_view_1x1_screenshot_without_display_uses_offscreen_rendering(series: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "one.png"
    r = regard("view", str(series), "--screenshot", str(out), env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    rgb = np.asarray(Image.open(out).convert("RGB")).astype(int)
    inner = rgb[40:-40, 40:-40]
    assert inner.std() > 10
    # not VTK garbage (PLATFORM.md trap): the body is a large grey ellipse, symmetric L/R
    body = (inner[..., 0] > 60) & (inner[..., 0] < 200)
    assert body.mean() > 0.1
    cols = np.nonzero(body.any(axis=0))[0]
    centre_x = (cols.min() + cols.max()) / 2
    assert abs(centre_x - inner.shape[1] / 2) < inner.shape[1] * 0.05


def test_view_refuses_a_missing_path_with_one_line(tmp_path: Path) -> None:
    r = regard("view", str(tmp_path / "nope"), env=_env())
    assert r.returncode == 1
    assert r.stderr.strip().startswith("regard: ") and "nope" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_view_of_a_folder_without_images_fails_fast(xvfb: str, tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("not DICOM")
    r = regard("view", str(tmp_path), "--screenshot", str(tmp_path / "x.png"), "--timeout", "60",
               env=_env(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb"))
    assert r.returncode == 1
    assert "No images found" in r.stderr
