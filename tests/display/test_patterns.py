"""TG18-style test patterns: native size, 12-bit levels, 1:1 line pairs, PNG/DICOM export."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from viewer.display import patterns


@pytest.mark.parametrize("size", [(1600, 1200), (1536, 2048), (2048, 2560)])
def test_ln_series_levels_and_geometry(size: tuple[int, int]) -> None:
    w, h = size
    x0, y0, x1, y1 = patterns.ln_patch_box(w, h)
    assert (x1 - x0) * (y1 - y0) == pytest.approx(0.10 * w * h, rel=0.01)
    for n in (1, 9, 18):
        img = patterns.tg18_ln(n, w, h)
        assert img.shape == (h, w) and img.dtype == np.uint16
        assert np.all(img[y0:y1, x0:x1] == 240 * (n - 1))
        assert img[0, 0] == 816 and img[h // 2, 0] == 816  # background 20% of 4080
    assert patterns.LN_LEVELS[-1] == 4080 and len(patterns.LN_LEVELS) == 18


def test_ln_number_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"1\.\.18"):
        patterns.tg18_ln(19, 1600, 1200)


def test_qc_pattern_is_native_and_has_one_pixel_line_pairs() -> None:
    w, h = 1600, 1200
    img = patterns.tg18_qc(w, h)
    assert img.shape == (h, w) and img.max() <= 4095
    assert np.all(img[0, :] == 4080) and np.all(img[:, -1] == 4080)  # 1-pixel border
    # the centre resolution block: 1-pixel vertical line pairs alternate pixel by pixel
    unit = min(w, h)
    b = max((unit // 16) // 2 * 2, 8)
    x0, y0 = w // 2 - b // 2, h // 2 - b // 2
    row = img[y0 + 2, x0 : x0 + b // 2].astype(int)
    assert set(np.abs(np.diff(row)).tolist()) == {4080}
    # 16 luminance patch levels from black to full scale are present
    levels = {round(k * 4080 / 15) for k in range(16)}
    assert levels <= set(np.unique(img).tolist())
    # low-contrast text exists at the smallest step (2040 - 20)
    assert np.count_nonzero(img == 2040 - 20) > 50


def test_png_export_16_and_8_bit(tmp_path: Path) -> None:
    img = patterns.tg18_ln(18, 256, 128)
    p16 = patterns.save_png(img, tmp_path / "ln16.png", bits=16)
    back = np.asarray(Image.open(p16))
    assert back.shape == (128, 256) and np.array_equal(back.astype(np.uint16), img)
    p8 = patterns.save_png(img, tmp_path / "ln8.png", bits=8)
    view = np.asarray(Image.open(p8))
    assert view[64, 128] == 255 and view[0, 0] == 51  # 816/4080*255 = 51


@pytest.mark.integration
def test_dicom_export_read_by_dcmtk(tmp_path: Path) -> None:
    out = tmp_path / "qc.dcm"
    cmd = [
        sys.executable,
        "-m",
        "viewer.cli",
        "display",
        "pattern",
        "--kind",
        "qc",
        "--size",
        "640x480",
        "-o",
        str(out),
    ]
    assert subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    ds = pydicom.dcmread(out)
    assert (ds.Rows, ds.Columns, ds.BitsStored) == (480, 640, 12)
    assert np.array_equal(ds.pixel_array, patterns.tg18_qc(640, 480))
    if shutil.which("dcmj2pnm") is None:
        pytest.fail("dcmj2pnm (DCMTK) is not installed")
    png = tmp_path / "qc.png"
    subprocess.run(
        ["dcmj2pnm", "+Wi", "1", "+on", str(out), str(png)], check=True, capture_output=True
    )
    theirs = np.asarray(Image.open(png)).astype(int)
    ours = patterns.to_display(patterns.tg18_qc(640, 480)).astype(int)
    assert np.max(np.abs(theirs - ours)) <= 1
