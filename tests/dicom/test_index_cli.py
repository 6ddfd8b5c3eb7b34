"""``regard info PATH [--json]``: the listing part of the CLI contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.shared_data import shared
from viewer.cli import main

GE = "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing"


def test_info_json_lists_series_with_syntaxes_and_lossy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(shared("transfer_syntaxes/wg04/CT1")), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["errors"] == []
    series = [s for p in doc["patients"] for st in p["studies"] for s in st["series"]]
    assert sum(s["instances"] for s in series) == 7
    names = {t["name"] for s in series for t in s["transfer_syntaxes"]}
    assert "JPEG-LS Lossless Image Compression" in names
    assert "RLE Lossless" in names
    assert any(s["lossy"] for s in series)
    assert all(s["series_uid"] and s["modality"] == "CT" for s in series)


def test_info_text_and_errors_name_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in (1, 2, 3):
        shutil.copy(shared(f"{GE}/{n:02d}.dcm"), tmp_path / f"{n}.dcm")
    bad = tmp_path / "2.dcm"
    bad.write_bytes(bad.read_bytes()[:100000])
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 instance(s)" in out and "Explicit VR Little Endian" in out
    assert f"error: {bad}: file truncated" in out


def test_info_failures_exit_nonzero_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"regard: {tmp_path / 'missing'}: no such file or folder"
    (tmp_path / "a.txt").write_text("x")
    assert main(["info", str(tmp_path)]) == 1
    assert "no readable DICOM object" in capsys.readouterr().err


def test_info_accepts_series_option() -> None:
    from viewer.cli import build_parser

    args = build_parser().parse_args(["info", "x", "--series", "1.2.3", "--json"])
    assert args.series == "1.2.3" and args.json


def test_info_json_gives_body_part_and_views(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from tests.dicom.projection import write_dx

    image = np.full((8, 8), 100, np.uint16)
    for n, (side, view) in enumerate([("L", "CC"), ("R", "MLO"), ("L", "CC")]):
        write_dx(tmp_path / f"{n}.dcm", image, instance_number=n + 1, Modality="MG",
                 ImageLaterality=side, ViewPosition=view, BodyPartExamined="BREAST")
    assert main(["info", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (series,) = [s for p in doc["patients"] for st in p["studies"] for s in st["series"]]
    assert series["body_part"] == "BREAST"
    assert series["views"] == ["L CC", "R MLO"]
