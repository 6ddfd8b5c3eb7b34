"""The GSDF (PS3.14) against the standard's Table B-1 and DCMTK's independent implementation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viewer.display import gsdf

# PS3.14 Table B-1 (JND index -> luminance cd/m2), first entries and the last.
TABLE_B1 = {
    1: 0.0500,
    2: 0.0547,
    3: 0.0594,
    4: 0.0643,
    5: 0.0696,
    6: 0.0750,
    7: 0.0807,
    8: 0.0866,
    9: 0.0927,
    10: 0.0991,
    1023: 3993.0,
}


def sig4(x: float) -> float:
    return float(f"{x:.4g}")


@pytest.mark.parametrize(("j", "lum"), sorted(TABLE_B1.items()))
def test_luminance_matches_table_b1_as_printed(j: int, lum: float) -> None:
    # The table prints 4 decimals below 1 cd/m2 (0.0547) and 4 significant digits here.
    shown = round(gsdf.luminance(j), 4) if lum < 1 else sig4(gsdf.luminance(j))
    assert shown == pytest.approx(lum, rel=1e-9)


@pytest.mark.parametrize(("j", "lum"), sorted(TABLE_B1.items()))
def test_jnd_index_of_table_luminance_gives_back_the_index(j: int, lum: float) -> None:
    # The table rounds L to 3-4 digits, so the inverse lands within the rounding of L.
    slope = gsdf.jnd_index(lum * 1.0005) - gsdf.jnd_index(lum * 0.9995)
    assert abs(gsdf.jnd_index(lum) - j) <= max(slope, 1e-3)
    assert round(gsdf.jnd_index(lum)) == j


def test_inverse_is_exact_over_the_whole_range() -> None:
    j = np.arange(1, 1024, dtype=float)
    assert np.max(np.abs(gsdf.jnd_index(gsdf.luminance(j)) - j)) < 1e-8
    assert sig4(gsdf.jnd_index(gsdf.luminance(1.0))) == 1.0
    assert sig4(gsdf.jnd_index(3993.4)) == 1023.0


def test_standard_polynomial_inverse_is_close_but_not_exact_at_the_bottom() -> None:
    assert gsdf.jnd_index_polynomial(100.0) == pytest.approx(gsdf.jnd_index(100.0), abs=0.05)
    assert abs(gsdf.jnd_index_polynomial(0.05) - gsdf.jnd_index(0.05)) > 0.02


def test_bad_luminance_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        gsdf.jnd_index(0.0)


@pytest.mark.integration
def test_gsdf_matches_dcmtk_dcmdspfn(tmp_path: Path) -> None:
    """DCMTK's dcmdspfn spreads a luminance range evenly in JND (its own GSDF code)."""
    if shutil.which("dcmdspfn") is None:
        pytest.fail("dcmdspfn (DCMTK) is not installed")
    out = tmp_path / "gsdf.txt"
    lmin, lmax, n = 0.5, 600.0, 256
    subprocess.run(
        ["dcmdspfn", "+Il", str(lmin), str(lmax), "+Cd", str(n), "+Og", str(out)],
        check=True,
        capture_output=True,
    )
    rows = [
        line.split()
        for line in out.read_text().splitlines()
        if line and not line.startswith("#") and line[0].isdigit()
    ]
    theirs = np.array([float(r[1]) for r in rows])
    assert len(theirs) == n
    # dcmtk takes the JND range with the standard's polynomial inverse (eq. 7-2)
    j0, j1 = gsdf.jnd_index_polynomial(lmin), gsdf.jnd_index_polynomial(lmax)
    ours = gsdf.luminance(np.linspace(j0, j1, n))
    assert np.max(np.abs(ours / theirs - 1)) < 5e-5


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viewer.cli", "display", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_gsdf_both_ways() -> None:
    out = run_cli("gsdf", "--jnd", "1023", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["jnd"] == 1023 and sig4(doc["luminance"]) == 3993.0
    out = run_cli("gsdf", "--luminance", "0.0500", "--json")
    doc = json.loads(out.stdout)
    assert round(doc["jnd"]) == 1 and doc["luminance"] == 0.05


def test_cli_gsdf_refuses_nonsense() -> None:
    out = run_cli("gsdf", "--luminance", "-3")
    assert out.returncode != 0
    assert "--luminance must be a positive" in out.stderr
