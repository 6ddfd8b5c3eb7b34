"""`regard info PATH --series UID` and `regard probe` (CLI contract in ARCHITECTURE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.shared_data import shared
from viewer.cli import main
from viewer.dicom import phantom
from viewer.dicom.phantom import PhantomGeometry

GE = "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _series_uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SeriesInstanceUID)


@pytest.fixture(scope="module")
def small_phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, PhantomGeometry]:
    folder = tmp_path_factory.mktemp("phantom")
    paths = phantom.write_phantom_series(
        folder,
        columns=96,
        rows=96,
        slices=40,
        slice_mm=5.0,
        pixel_mm=4.0,
        instance_order="reverse",
        shuffle_names=True,
    )
    return folder, _series_uid(paths[0]), PhantomGeometry(96, 96, 40, 4.0, 5.0)


def test_info_series_json_on_ge_tilt(capsys: pytest.CaptureFixture[str]) -> None:
    folder = shared(GE)
    code, out, _ = _run(
        capsys, "info", str(folder), "--series", _series_uid(folder / "01.dcm"), "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["dims"] == [512, 512, 28]
    assert doc["spacing"][:2] == pytest.approx([0.4882812, 0.4882812])
    assert doc["origin"] == pytest.approx([-125.0, -123.5405, 5.8361], abs=1e-3)
    direction = np.array(doc["direction"])
    np.testing.assert_allclose(direction[:, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(direction[:, 1], [0, 0.948324, -0.317305], atol=1e-6)
    np.testing.assert_allclose(direction[:, 2], [0, 0, 1], atol=1e-6)
    assert any(w.startswith("gantry tilt 18.5") for w in doc["warnings"])
    assert any("non-uniform spacing" in w for w in doc["warnings"])
    gaps = np.round(doc["slice_gaps_along_normal"], 3).tolist()
    assert gaps == [4.002] * 13 + [1.081] + [6.999] * 13


def test_probe_ge_matches_the_file_pixel(capsys: pytest.CaptureFixture[str]) -> None:
    folder = shared(GE)
    ds = pydicom.dcmread(folder / "15.dcm")
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    row = np.array([float(v) for v in ds.ImageOrientationPatient[:3]])
    col = np.array([float(v) for v in ds.ImageOrientationPatient[3:]])
    i, j = 300, 201
    point = ipp + i * float(ds.PixelSpacing[1]) * row + j * float(ds.PixelSpacing[0]) * col
    expected = int(ds.pixel_array[j, i]) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    code, out, _ = _run(
        capsys,
        "probe",
        str(folder),
        "--series",
        str(ds.SeriesInstanceUID),
        "--point",
        ",".join(f"{v:.4f}" for v in point),
        "--json",
    )
    assert code == 0
    assert json.loads(out) == {"value": expected, "voxel": [i, j, 14], "inside": True}


def test_probe_several_points_keep_order_and_show_left_right(
    capsys: pytest.CaptureFixture[str], small_phantom: tuple[Path, str, PhantomGeometry]
) -> None:
    folder, uid, geo = small_phantom
    bx, by = phantom.bead_center(geo)
    z_top = geo.z_top
    points = [(bx, by, z_top), (-bx, by, z_top), (bx, by, geo.z0), (-55.0, -5.0, geo.z0 + 10)]
    argv = ["probe", str(folder), "--series", uid, "--json"]
    for p in points:
        argv += ["--point", ",".join(str(v) for v in p)]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    results = json.loads(out)
    assert isinstance(results, list) and len(results) == 4
    bead, mirror, bead_low, liver = (r["value"] for r in results)
    assert bead > 2000  # the bead: patient LEFT, anterior, upper slices only
    assert mirror < 200 and bead_low < 200
    assert 60 < liver < 140  # liver on the patient's RIGHT, lower slices
    assert results[0]["voxel"][2] == geo.slices - 1 and results[2]["voxel"][2] == 0
    for p, r in zip(points, results, strict=True):
        assert abs(r["value"] - phantom.expected_hu(geo, p)) < 60  # noise sigma 8


def test_probe_outside_gives_null(capsys, small_phantom) -> None:
    folder, uid, geo = small_phantom
    code, out, _ = _run(
        capsys, "probe", str(folder), "--series", uid, "--point", f"0,0,{geo.z_top + 50}", "--json"
    )
    assert code == 0 and json.loads(out)["value"] is None


def test_info_series_text_output(capsys, small_phantom) -> None:
    folder, uid, _ = small_phantom
    code, out, _ = _run(capsys, "info", str(folder), "--series", uid)
    assert code == 0
    assert "dims      [96, 96, 40]" in out and "k->H" in out


def test_unknown_series_and_bad_point_fail_with_one_line(capsys, small_phantom) -> None:
    folder, uid, _ = small_phantom
    code, _, err = _run(capsys, "info", str(folder), "--series", "1.2.3.4", "--json")
    assert code == 1 and "no series 1.2.3.4" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "probe", str(folder), "--series", uid, "--point", "1,2")
    assert code == 1 and "expected X,Y,Z" in err


def test_info_series_lists_every_volume_of_a_split_series(capsys) -> None:
    folder = shared("mr_enhanced_vs_classic/philips_2001_fieldmap/enhanced")
    uid = _series_uid(next(folder.iterdir()))
    code, out, _ = _run(capsys, "info", str(folder), "--series", uid, "--json")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["volumes"]) == 4 and doc["dims"] == [80, 80, 53]
    assert {v["split"] for v in doc["volumes"]} == {
        f"split by echo time {te} ms, image type {kind}"
        for te in ("2.3", "4.6")
        for kind in ("MAGNITUDE", "PHASE")
    }
    code, out, _ = _run(
        capsys, "probe", str(folder), "--series", uid, "--volume", "3", "--point", "0,0,0", "--json"
    )
    assert code == 0 and json.loads(out)["inside"] is True
