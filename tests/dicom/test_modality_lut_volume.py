"""A series whose values come from a Modality LUT Sequence (PS3.3 C.11.1.1) becomes a volume
in modality units: each voxel is LUT[stored - first mapped], clamped to the table's ends,
never stored x slope + intercept.

Oracle: the LUT itself applied to the stored values pydicom decodes from each file, at
patient points read back through :meth:`Volume.value_at`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from viewer.dicom.assemble import assemble
from viewer.dicom.image2d import load_series
from viewer.dicom.index import scan
from viewer.dicom.phantom import write_phantom_series
from viewer.dicom.volume import Volume

FIRST = 100  # stored values below this take the first entry (C.11.1.1)
ENTRIES = 3000  # stored values above FIRST + ENTRIES - 1 take the last one


def _table(peak: int) -> np.ndarray:
    """Non-linear and non-monotonic: no slope/intercept reproduces it."""
    x = np.arange(ENTRIES, dtype=np.float64)
    return np.rint(peak * np.abs(np.sin(x / 700.0)) + (x / 60.0) ** 2).astype(np.uint16)


def _with_modality_lut(folder: Path, table: np.ndarray, keep_rescale: bool = False) -> list[Path]:
    files = write_phantom_series(folder, columns=48, rows=40, slices=6, slice_mm=2.5,
                                 series_description="modality LUT", instance_order="shuffle")
    for path in files:
        ds = pydicom.dcmread(path)
        if not keep_rescale:
            del ds.RescaleSlope, ds.RescaleIntercept
        item = Dataset()
        item.LUTDescriptor = [ENTRIES, FIRST, 16]
        item.ModalityLUTType = "US"  # unspecified units
        item.LUTData = table.astype("<u2").tobytes()
        ds.ModalityLUTSequence = Sequence([item])
        ds.save_as(path)
    return files


def _expected(ds: pydicom.Dataset, table: np.ndarray) -> np.ndarray:
    stored = ds.pixel_array.astype(np.int64)
    return table[np.clip(stored - FIRST, 0, ENTRIES - 1)].astype(np.float64)


def _check_against_lut(vol: Volume, files: list[Path], table: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    checked = 0
    for path in files:
        ds = pydicom.dcmread(path)
        want = _expected(ds, table)
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
        stored = ds.pixel_array
        # every clamp case and random pixels: below FIRST, inside, above the table
        picks = [tuple(np.argwhere(stored < FIRST)[0]), tuple(np.argwhere(stored >= FIRST)[0])]
        picks += [(int(rng.integers(ds.Rows)), int(rng.integers(ds.Columns))) for _ in range(20)]
        for j, i in picks:
            lps = ipp + i * col_mm * iop[:3] + j * row_mm * iop[3:]
            value, (vi, vj, _) = vol.value_at(lps)
            assert (vi, vj) == (i, j)
            assert value == want[j, i], (path.name, i, j, int(stored[j, i]))
            checked += 1
    assert checked == len(files) * 22


def test_modality_lut_series_is_a_volume_with_the_lut_applied(tmp_path: Path) -> None:
    table = _table(1500)
    files = _with_modality_lut(tmp_path, table)
    # the phantom's stored values cover both clamps of the table
    stored = np.concatenate([pydicom.dcmread(p).pixel_array.ravel() for p in files])
    assert stored.min() < FIRST and stored.max() > FIRST + ENTRIES - 1
    (vol,) = assemble(files)
    assert vol.dims == (48, 40, 6)
    assert vol.array.dtype == np.int16  # every entry fits
    assert vol.rescale_type == "US"
    _check_against_lut(vol, files, table)
    # the whole volume, slice by slice in position order
    for k, path in enumerate(vol.source_files):
        np.testing.assert_array_equal(vol.array[k], _expected(pydicom.dcmread(path), table))


def test_lut_beyond_int16_gives_an_exact_float_volume(tmp_path: Path) -> None:
    table = _table(60000)
    assert table.max() > 32767
    files = _with_modality_lut(tmp_path, table)
    (vol,) = assemble(files)
    assert vol.array.dtype == np.float32
    _check_against_lut(vol, files, table)


def test_lut_wins_over_rescale_when_both_are_present(tmp_path: Path) -> None:
    table = _table(1500)
    files = _with_modality_lut(tmp_path, table, keep_rescale=True)
    (vol,) = assemble(files)
    _check_against_lut(vol, files, table)


@pytest.mark.timeout(120)
def test_modality_lut_series_opens_as_a_volume_for_mpr(tmp_path: Path) -> None:
    table = _table(1500)
    files = _with_modality_lut(tmp_path, table)
    entry = next(iter(scan(tmp_path).series.values()))
    shown = load_series(entry)
    assert isinstance(shown, Volume)
    _check_against_lut(shown, files, table)
