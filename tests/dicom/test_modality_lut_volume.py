"""A slice whose values come from a Modality LUT Sequence is never rescaled by slope/intercept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from viewer.dicom.assemble import AssembleError, assemble
from viewer.dicom.image2d import ImageSeries, load_series
from viewer.dicom.index import scan
from viewer.dicom.phantom import write_phantom_series


def _with_modality_lut(folder: Path) -> list[Path]:
    files = write_phantom_series(folder, columns=32, rows=32, slices=4)
    for path in files:
        ds = pydicom.dcmread(path)
        del ds.RescaleSlope, ds.RescaleIntercept
        item = Dataset()
        item.LUTDescriptor = [4096, 0, 16]
        item.ModalityLUTType = "HU"
        # decreasing, so no slope/intercept reproduces it
        item.LUTData = np.arange(4096, 0, -1, dtype="<u2").tobytes()
        ds.ModalityLUTSequence = Sequence([item])
        ds.save_as(path)
    return files


def test_modality_lut_series_is_refused_as_volume_and_shown_in_2d(tmp_path: Path) -> None:
    files = _with_modality_lut(tmp_path)
    with pytest.raises(AssembleError, match="Modality LUT Sequence"):
        assemble(files)
    entry = next(iter(scan(tmp_path).series.values()))
    shown = load_series(entry)
    assert isinstance(shown, ImageSeries)
    stored = pydicom.dcmread(shown.frames[0].path).pixel_array
    values = np.asarray(shown.values(0))
    assert values.shape == stored.shape
    # the LUT (4096 - x) is applied, not the identity
    assert np.array_equal(values.astype(np.int64), 4096 - stored.astype(np.int64))
