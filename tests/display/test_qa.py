"""Contrast response against the GSDF (AAPM TG18 4.3.3), luminance limits, file formats, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viewer.display import gsdf
from viewer.display.qa import (
    TG18_LN_LEVELS,
    MeasurementError,
    Measurements,
    evaluate,
    read_measurements,
)

DATA = Path(__file__).parent / "data"
CALIBRATED = DATA / "tg18_ln_calibrated.csv"


def gsdf_screen(lmin: float, lmax: float, ambient: float) -> list[float]:
    """Luminances (without ambient) of an ideal GSDF screen at the 18 TG18-LN levels."""
    j = np.linspace(gsdf.jnd_index(lmin + ambient), gsdf.jnd_index(lmax + ambient), 18)
    return list(np.asarray(gsdf.luminance(j)) - ambient)


def test_ideal_gsdf_screen_has_no_deviation() -> None:
    result = evaluate(Measurements(list(TG18_LN_LEVELS), gsdf_screen(0.5, 400, 0.1), 0.1))
    assert result.max_deviation < 1e-9
    assert result.passed and result.failures == []


def test_calibrated_example_passes() -> None:
    result = evaluate(read_measurements(CALIBRATED))
    assert result.passed, result.failures
    assert 0.005 < result.max_deviation < 0.10
    assert result.lmax == 450 and result.ambient == 0.2
    assert result.ratio == pytest.approx(450.2 / 1.0)


def test_distorted_curve_fails_and_names_the_worst_level() -> None:
    good = read_measurements(CALIBRATED)
    lum = list(good.luminances)
    lum[8:] = [v * 1.25 for v in lum[8:]]  # a jump between LN-08 and LN-09
    result = evaluate(Measurements(good.levels, lum, good.ambient))
    assert not result.passed
    assert result.worst_level == 9
    assert result.worst_interval == (1680.0, 1920.0)
    assert result.max_deviation > 0.5
    assert "between levels 8 and 9" in result.failures[0]


def test_uncalibrated_gamma_screen_fails_in_the_dark_levels() -> None:
    p = np.arange(18) / 17
    lum = list(0.8 + (450 - 0.8) * p**2.2)
    result = evaluate(Measurements(list(TG18_LN_LEVELS), lum, 0.2))
    assert not result.passed
    assert result.worst_level == 3 and result.max_deviation > 0.4


def test_review_tolerance_is_wider() -> None:
    good = read_measurements(CALIBRATED)
    lum = list(good.luminances)
    lum[10:] = [v * 1.05 for v in lum[10:]]
    m = Measurements(good.levels, lum, good.ambient)
    diag, review = evaluate(m, "diagnostic"), evaluate(m, "review")
    assert 0.10 < diag.max_deviation < 0.20
    assert not diag.passed and review.passed


def test_luminance_limits_come_from_the_policy() -> None:
    dim = Measurements(list(TG18_LN_LEVELS), gsdf_screen(0.8, 300, 0.2), 0.2)
    result = evaluate(dim, "diagnostic")
    assert not result.passed
    assert any("Lmax 300 cd/m2 below 350" in f for f in result.failures)
    assert evaluate(dim, "review").passed
    low_ratio = Measurements(list(TG18_LN_LEVELS), gsdf_screen(2.0, 400, 0.2), 0.2)
    assert any("luminance ratio" in f for f in evaluate(low_ratio).failures)
    bright_room = Measurements(list(TG18_LN_LEVELS), gsdf_screen(0.8, 400, 0.5), 0.5)
    assert any("ambient" in f for f in evaluate(bright_room).failures)


def test_non_uniformity() -> None:
    m = read_measurements(CALIBRATED)
    m.uniformity = [200, 205, 150, 210, 198]
    result = evaluate(m)
    assert result.non_uniformity == pytest.approx(200 * 60 / 360)
    assert any("non-uniformity" in f for f in result.failures)


def test_json_measurement_file(tmp_path: Path) -> None:
    lum = gsdf_screen(0.8, 430, 0.1)
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"ambient": 0.1, "role": "mammography", "luminances": lum}))
    result = evaluate(read_measurements(f))
    assert result.role == "mammography" and result.lmax_min == 420 and result.passed
    rows = [{"level": lv, "luminance": v} for lv, v in zip(TG18_LN_LEVELS, lum, strict=True)]
    f.write_text(json.dumps({"measurements": rows, "ambient": 0.1}))
    assert read_measurements(f).levels[-1] == 4080


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("level,luminance\n0,1\n240,abc\n480,3\n", "row 3 luminance is not a number"),
        ("level,luminance\n0,1\n240,2\n", "at least 3"),
        ("level,luminance\n0,1\n240,-2\n480,3\n", "positive"),
        ('{"luminances": [1, 2, 3]}', "only the 18 TG18-LN patches"),
        ("{not json", "invalid JSON"),
    ],
)
def test_bad_files_are_named_with_the_problem(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(MeasurementError, match=message) as info:
        read_measurements(f)
    assert str(f) in str(info.value)


def test_non_monotonic_screen_is_reported() -> None:
    lum = gsdf_screen(0.8, 400, 0.2)
    lum[5] = lum[4]
    with pytest.raises(MeasurementError, match="does not increase at level 6"):
        evaluate(Measurements(list(TG18_LN_LEVELS), lum, 0.2))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viewer.cli", "display", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_qa_json_and_storage(tmp_path: Path) -> None:
    out = run_cli("qa", "--measurements", str(CALIBRATED), "--json", "--screen", "EIZO_RX350_123")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["pass"] is True
    assert set(doc) >= {"pass", "max_deviation", "worst_level", "lmax", "ratio"}
    assert doc["lmax"] == 450 and Path(doc["stored"]).is_file()
    status = json.loads(run_cli("qa-status", "--json").stdout)
    assert [s["key"] for s in status] == ["EIZO_RX350_123"]
    assert status[0]["reminder"] is None and status[0]["last"]["pass"] is True


def test_cli_qa_failing_curve(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    text = CALIBRATED.read_text().replace("1920,40.9", "1920,48.0")
    bad.write_text(text)
    out = run_cli("qa", "--measurements", str(bad), "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["pass"] is False and doc["worst_level"] in (9, 10)
    assert run_cli("qa", "--measurements", str(bad), "--strict").returncode == 3
    missing = run_cli("qa", "--measurements", str(tmp_path / "none.csv"))
    assert missing.returncode == 1 and "none.csv" in missing.stderr
