"""``regard render`` and ``regard info --series`` for 2-D series (radiographs, cine, colour).

Oracles: dcmj2pnm renders shipped in pixel_pipeline/expected_dcmtk (MANIFEST.md),
the stored RGB samples, header values of the real files, and the audit journal
(the access is recorded before any pixel is written).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.dicom.projection import write_dx
from tests.shared_data import shared
from viewer.cli import main

CR_CHEST = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"
US_PALETTE = "pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm"


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True, force=True).SeriesInstanceUID)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_render_cr_true_pixel_equals_dcmj2pnm_apart_from_its_ties(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = shared(CR_CHEST)
    out = tmp_path / "cr.png"
    code, text, err = _run(capsys, "render", str(src), "--series", _uid(src), "--true-pixel",
                           "--size", "440x440", "--json", "-o", str(out))
    assert code == 0, err
    doc = json.loads(text)
    assert doc["kind"] == "image" and doc["window"] == {"width": 1024.0, "level": 550.0}
    assert doc["inverted"] is True and doc["true_pixel"] is True
    got = np.asarray(Image.open(out).convert("L")).astype(int)
    want = np.asarray(Image.open(shared(
        "pixel_pipeline/expected_dcmtk/CR-MONO1-10-chest_nometa_Wi1.png"))).astype(int)
    diff = got - want
    assert set(np.unique(diff)) <= {0, 1} and np.mean(diff != 0) < 0.005


def test_render_frame_of_a_palette_cine_and_window_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from viewer.dicom.image2d import ImageSeries

    src = shared(US_PALETTE)
    out = tmp_path / "us.png"
    code, text, err = _run(capsys, "render", str(src), "--frame", "4", "--true-pixel",
                           "--size", "600x430", "--json", "-o", str(out))
    assert code == 0, err
    doc = json.loads(text)
    assert (doc["frame"], doc["frames"], doc["frame_interval_ms"]) == (4, 10, 76.0)
    assert doc["window"] is None  # colour passes through
    want = ImageSeries.from_paths([src]).values(4)
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), want)


def test_render_2d_with_window_size_and_overlay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arr = np.full((40, 60), 1000, dtype=np.uint16)
    arr[0:8, 52:60] = 3000
    src = write_dx(tmp_path / "dx.dcm", arr, PatientOrientation=["L", "F"],
                   ImagerPixelSpacing=[0.2, 0.2])
    out = tmp_path / "dx.png"
    code, text, err = _run(capsys, "render", str(src), "--window", "2", "--level", "2000",
                           "--size", "300x200", "--overlay", "--json", "-o", str(out))
    assert code == 0, err
    doc = json.loads(text)
    assert doc["labels"] == {"right": "L", "left": "R", "top": "H", "bottom": "F"}
    assert doc["spacing_kind"] == "detector"
    assert "measurements at detector" in doc["warnings"]
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (200, 300, 3)
    # 60x40 pixels fill 300x200 (5 screen pixels each): the marker is white at the top
    # right (x 260-300, y 0-40), the rest black with W 2 / L 2000
    assert tuple(img[33, 265]) == (255, 255, 255)
    assert tuple(img[120, 100]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plane", "coronal"], "--plane do(es) not apply"),
        (["--point", "1,2,3", "--slab", "5"], "--point, --slab do(es) not apply"),
        (["--frame", "10"], "the series has 10 frame(s)"),
        (["--frame", "-1"], "the series has 10 frame(s)"),
    ],
)
def test_volume_options_are_refused_for_2d_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "x.png"
    code, _, err = _run(capsys, "render", str(shared(US_PALETTE)), *args, "-o", str(out))
    assert code != 0 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_frame_option_is_refused_for_a_volume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared("ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing")
    code, _, err = _run(capsys, "render", str(folder), "--frame", "1", "-o",
                        str(tmp_path / "v.png"))
    assert code != 0 and "is a volume" in err


def test_2d_render_is_recorded_in_the_audit_trail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from viewer.access.journal import AuditJournal

    journal = AuditJournal()
    before = journal.count()
    code, _, err = _run(capsys, "render", str(shared(CR_CHEST)), "-o", str(tmp_path / "a.png"))
    assert code == 0, err
    assert journal.count() == before + 1
    last = list(journal.records())[-1]
    assert last.action == "view" and last.outcome == "success"


@pytest.mark.parametrize(
    ("relpath", "expect"),
    [
        ("transfer_syntaxes/wg04/RG3/RG3_UNC.dcm",
         {"frames": 1, "rows": 1760, "columns": 1760, "pixel_spacing": None,
          "spacing_kind": "none", "photometric": "MONOCHROME1"}),
        ("pixel_pipeline/monochrome1/Monochrome1-Jpeg.dcm",
         {"frames": 1, "rows": 2446, "columns": 2010, "pixel_spacing": [0.175, 0.175],
          "spacing_kind": "detector", "photometric": "MONOCHROME1"}),
        ("transfer_syntaxes/variants/XA_96frames_jpeg_HasFragmentSequence.dcm",
         {"frames": 96, "rows": 512, "columns": 512, "frame_time_ms": 33.0,
          "photometric": "MONOCHROME2", "lossy": True}),
        (US_PALETTE, {"frames": 10, "photometric": "PALETTE COLOR", "frame_time_ms": 76.0}),
        ("transfer_syntaxes/wg04/VL1/VL1_UNC.dcm",
         {"frames": 1, "rows": 486, "columns": 756, "photometric": "RGB"}),
    ],
)
def test_info_series_describes_2d_series(
    capsys: pytest.CaptureFixture[str], relpath: str, expect: dict
) -> None:
    src = shared(relpath)
    code, text, err = _run(capsys, "info", str(src), "--series", _uid(src), "--json")
    assert code == 0, err
    doc = json.loads(text)
    assert doc["kind"] == "image" and isinstance(doc["warnings"], list)
    for key, value in expect.items():
        assert doc[key] == value, key
    code, text, _ = _run(capsys, "info", str(src), "--series", _uid(src))
    assert code == 0 and f"frames    {expect['frames']} in 1 instance(s)" in text


def test_info_series_of_a_volume_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    folder = shared("ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing")
    uid = _uid(next(p for p in folder.iterdir() if p.suffix == ".dcm"))
    code, text, err = _run(capsys, "info", str(folder), "--series", uid, "--json")
    assert code == 0, err
    doc = json.loads(text)
    assert "kind" not in doc and doc["dims"][:2] == [512, 512]
