"""``regard render`` end to end: DICOM files -> index -> volume -> access gate -> PNG.

Oracles: the synthetic phantom's orientation bead (patient left, anterior, head end),
the real gantry-tilted GE head CT's sheared shape (18.5 degrees from its headers,
MANIFEST.md of ct_gantry_tilt), and the expected edge labels of the real
sagittal and coronal MR stacks (MANIFEST.md of mr_orientation).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.shared_data import shared
from viewer.cli import main
from viewer.dicom.phantom import bead_center, write_phantom_series


def _render(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["render", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phantom")
    write_phantom_series(folder, columns=128, rows=128, slices=50, slice_mm=3.0,
                         instance_order="reverse")
    return folder


def _bead_xy(png: Path) -> np.ndarray:
    grey = np.asarray(Image.open(png).convert("L"), dtype=float)
    ys, xs = np.nonzero(grey > 128)
    assert len(xs) > 4, "bead not visible"
    return np.array([xs.mean() / grey.shape[1], ys.mean() / grey.shape[0]])


@pytest.mark.parametrize(
    ("plane", "expect"),
    [("axial", ("right", "top")), ("coronal", ("right", "top")), ("sagittal", ("left", "top"))],
)
def test_phantom_bead_lands_where_radiologists_expect(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], plane: str,
    expect: tuple[str, str],
) -> None:
    bx, by = bead_center(None)  # type: ignore[arg-type]
    z_bead = -100.0 + 0.9 * 49 * 3.0  # in the head-end fifth of the stack
    out = tmp_path / f"{plane}.png"
    doc = _render(capsys, str(phantom), "--plane", plane, "--point", f"{bx},{by},{z_bead}",
                  "--window", "1000", "--level", "2000", "--size", "200x160", "-o", str(out))
    assert Image.open(out).size == (200, 160)
    x, y = _bead_xy(out)
    horizontal, vertical = expect
    assert (x > 0.55) if horizontal == "right" else (x < 0.45), (plane, x)
    assert (y < 0.45) if vertical == "top" else (y > 0.55), (plane, y)
    assert doc["window"] == {"width": 1000.0, "level": 2000.0}


def test_default_point_is_volume_centre_and_window_from_header(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _render(capsys, str(phantom), "--plane", "axial", "-o", str(tmp_path / "a.png"))
    z_centre = -100.0 + 49 * 3.0 / 2
    assert doc["point"][2] == pytest.approx(z_centre)
    assert doc["window"] == {"width": 400.0, "level": 40.0}
    assert doc["labels"] == {"left": "R", "right": "L", "top": "A", "bottom": "P"}


def test_overlay_adds_pixels_only_when_asked(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain, over = tmp_path / "plain.png", tmp_path / "over.png"
    _render(capsys, str(phantom), "--plane", "coronal", "-o", str(plain))
    _render(capsys, str(phantom), "--plane", "coronal", "--overlay", "-o", str(over))
    a = np.asarray(Image.open(plain).convert("RGB"), dtype=int)
    b = np.asarray(Image.open(over).convert("RGB"), dtype=int)
    changed = np.any(a != b, axis=2)
    assert changed.sum() > 200
    h, w = changed.shape
    assert not changed[h // 3: 2 * h // 3, w // 3: 2 * w // 3].any()


def test_slab_mip_shows_the_bead_from_a_distance(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    z_below = -100.0 + 0.75 * 49 * 3.0  # the bead starts at 80 % of the stack, 7 mm higher
    thin, slab = tmp_path / "thin.png", tmp_path / "slab.png"
    args = [str(phantom), "--plane", "axial", "--window", "1000", "--level", "2000"]
    _render(capsys, *args, "--point", f"0,0,{z_below}", "-o", str(thin))
    grey = np.asarray(Image.open(thin).convert("L"))
    assert (grey > 128).sum() == 0  # not in the thin slice
    doc = _render(capsys, *args, "--point", f"0,0,{z_below}", "--slab", "30",
                  "--mode", "mip", "-o", str(slab))
    assert doc["slab"] == {"mm": 30.0, "mode": "mip"}
    x, y = _bead_xy(slab)
    assert x > 0.55 and y < 0.45


def test_gantry_tilt_ct_is_drawn_sheared_by_its_true_angle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    series = shared("ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing")
    out = tmp_path / "tilt.png"
    # a 2-HU window above the padding value (-1500): every voxel of the stack shows white
    doc = _render(capsys, str(series), "--plane", "sagittal", "--window", "2", "--level", "-1400",
                  "--size", "400x400", "--interpolation", "nearest", "-o", str(out))
    assert any("tilt" in w for w in doc["warnings"])
    mask = np.asarray(Image.open(out).convert("L")) > 128
    cols = np.nonzero(mask.any(axis=0))[0]
    inner = cols[len(cols) // 5: -len(cols) // 5]
    top = np.array([np.argmax(mask[:, c]) for c in inner], dtype=float)
    slope = np.polyfit(inner.astype(float), top, 1)[0]
    # IOP column (0, 0.948, -0.317): slices fall 18.5 degrees towards posterior (screen right)
    assert slope == pytest.approx(math.tan(math.radians(18.5)), abs=0.03)
    # the stack direction is +z: the front and back edges of the stack are vertical
    rows = np.nonzero(mask.any(axis=1))[0]
    mid = rows[len(rows) // 3: -len(rows) // 3]
    left = np.array([np.argmax(mask[r]) for r in mid], dtype=float)
    assert np.percentile(np.abs(left - np.median(left)), 90) <= 1


@pytest.mark.parametrize(
    ("folder", "plane", "labels"),
    [
        ("mr_orientation/decubitus_HFS_t1_sag", "sagittal", ("A", "P", "H", "F")),
        ("mr_orientation/decubitus_HFDR_t1_sag", "acquisition", ("A", "P", "H", "F")),
        ("mr_orientation/dcm4che_MR_coronal_16", "acquisition", ("R", "L", "H", "F")),
    ],
)
def test_real_stacks_get_manifest_edge_labels(
    folder: str, plane: str, labels: tuple[str, ...], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = _render(capsys, str(shared(folder)), "--plane", plane, "--overlay", "--size", "128x128",
                  "-o", str(tmp_path / "x.png"))
    got = doc["labels"]
    assert (got["left"], got["right"], got["top"], got["bottom"]) == labels


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "400"], "--window and --level go together"),
        (["--window", "0.5", "--level", "3"], "width must be >= 1"),
        (["--point", "1,2"], "expected X,Y,Z"),
        (["--size", "big"], "expected WxH"),
        (["--normal", "0,0,0"], "must not be 0,0,0"),
        (["--series", "1.2.3.4"], "no series 1.2.3.4"),
    ],
)
def test_bad_arguments_get_one_line_errors(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    message: str,
) -> None:
    code = main(["render", str(phantom), *args, "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_rendering_is_recorded_in_the_audit_trail(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from viewer.access.journal import AuditJournal

    journal = AuditJournal()
    before = journal.count()
    _render(capsys, str(phantom), "--plane", "axial", "-o", str(tmp_path / "a.png"))
    records = journal.records()
    assert journal.count() == before + 1
    last = list(records)[-1]
    assert last.action == "view" and last.outcome == "success"


def test_oblique_normal_tilts_the_plane(
    phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _render(capsys, str(phantom), "--plane", "axial", "--normal", "0,-0.2,-1",
                  "--size", "96x96", "-o", str(tmp_path / "o.png"))
    n = np.asarray(doc["normal"])
    want = np.array([0.0, -0.2, -1.0]) / np.linalg.norm([0.0, -0.2, -1.0])
    assert abs(abs(float(n @ want)) - 1) < 1e-9
    assert doc["plane"] == "oblique (axial)"
    assert doc["labels"]["right"] == "L" and doc["labels"]["top"].startswith("A")
