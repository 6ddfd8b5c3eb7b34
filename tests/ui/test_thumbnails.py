"""Series thumbnails of 2-D series (radiographs, ultrasound, colour, multi-frame).

``loader.thumbnails`` runs in the loader's worker process; a file that cannot be
a volume goes through the 2-D display chain (viewer.dicom.image2d). Oracles: the
DCMTK ``dcmj2pnm`` renders shipped with the shared corpus (formula-exact), the
stored RGB read by pydicom, and the browser's icons read back from Qt.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from tests.shared_data import shared
from viewer.dicom.image2d import ImageSeries
from viewer.ui import loader

CR_CHEST = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"  # MONOCHROME1, 440x440
CR_MLUT = "pixel_pipeline/monochrome1/CR-ModalitySequenceLUT.dcm"  # Modality LUT Sequence
FACE = "pixel_pipeline/palette/OT-PAL-8-face_nometaTS.dcm"  # PALETTE COLOR
COLOUR = "pixel_pipeline/color/color-pl.dcm"  # RGB, planar configuration 1
US_CINE = "pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm"  # 10-frame palette cine
US_RGB = "transfer_syntaxes/variants/US-RGB-8-epicard_bigendian_planar1.dcm"
# DCMTK renders, and how far a level may differ: dcmj2pnm's float rounding gives 254-y
# for MONOCHROME1 where y is an exact integer (tests/dicom/test_pixels.py)
RENDERS = {CR_CHEST: ("CR-MONO1-10-chest_nometa_Wi1.png", 1),
           CR_MLUT: ("CR-ModalitySequenceLUT_Wm.png", 0),
           FACE: ("OT-PAL-8-face_nometaTS_.png", 0), COLOUR: ("color-pl_.png", 0)}
SIZE = 64


def _subsample(image: np.ndarray) -> np.ndarray:
    step = max(1, math.ceil(max(image.shape[:2]) / SIZE))
    return image[::step, ::step]


def test_2d_thumbnails_equal_the_dcmtk_renders_subsampled() -> None:
    paths = [str(shared(p)) for p in RENDERS]
    thumbs = loader.thumbnails(paths, SIZE)
    for (rel, (png, tolerance)), thumb in zip(RENDERS.items(), thumbs, strict=True):
        expected = _subsample(np.asarray(
            Image.open(shared(f"pixel_pipeline/expected_dcmtk/{png}")))).astype(int)
        assert thumb is not None, rel
        assert thumb.shape == expected.shape, rel
        assert max(thumb.shape[:2]) <= SIZE
        assert np.abs(thumb.astype(int) - expected).max() <= tolerance, rel


def test_colour_ultrasound_and_a_cine_get_colour_thumbnails_of_their_middle_frame() -> None:
    rgb, cine = loader.thumbnails([str(shared(US_RGB)), str(shared(US_CINE))], SIZE)
    stored = pydicom.dcmread(shared(US_RGB)).pixel_array  # RGB, 8 bits
    assert rgb is not None and rgb.ndim == 3
    np.testing.assert_array_equal(rgb, _subsample(stored))
    series = ImageSeries.from_paths([shared(US_CINE)])
    assert cine is not None and cine.shape[2] == 3
    np.testing.assert_array_equal(cine, _subsample(series.display(len(series) // 2)))
    assert not np.array_equal(cine, _subsample(series.display(0)))  # the heart moved


def test_a_file_that_is_no_image_gets_no_thumbnail(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all" * 10)
    assert loader.thumbnails([str(junk)], SIZE) == [None]


@pytest.mark.gui
def test_the_browser_shows_radiograph_and_colour_ultrasound_thumbnails(qtbot, qapp,
                                                                      tmp_path: Path) -> None:
    from viewer.dicom.index import scan
    from viewer.ui.browser import StudyBrowser
    from viewer.ui.browser_query import rows_from_index

    for rel in (CR_CHEST, US_RGB):
        (tmp_path / Path(rel).name).symlink_to(shared(rel))
    rows = rows_from_index(scan(tmp_path), "Local")
    browser = StudyBrowser()
    qtbot.addWidget(browser)
    browser.show()
    browser.add_rows(rows)
    seen = {}
    for n in range(len(rows)):
        with qtbot.waitSignal(browser.thumbnails_ready, timeout=60000):
            browser.table.selectRow(n)
        item = browser.series_list.item(0)
        modality = item.data(Qt.ItemDataRole.UserRole).modality  # the SeriesEntry
        assert not item.icon().isNull(), modality
        image = item.icon().pixmap(SIZE, SIZE).toImage()
        px = np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())]
                       for y in range(image.height())], dtype=int)
        seen[modality] = px
    assert set(seen) == {"CR", "US"}
    assert seen["CR"].std() > 20  # a chest, not a blank square
    cr = seen["CR"]
    assert np.array_equal(cr[..., 0], cr[..., 2])  # grey
    us = seen["US"]
    assert np.abs(us[..., 0] - us[..., 2]).max() > 50  # colour Doppler survives
