"""Per viewport: the "not for diagnosis" banner and the screen's GSDF presentation LUT.

The session's Xvfb has one 1920x1200 screen (2.3 MP): fit for CT (2 MP), not
for CR (3 MP). A CT next to a CR in a 1x2 grid: the banner is over the CR
only. With a characteristic curve saved for that screen (qa_store.save_curve),
the grey levels read back from the viewports' render windows are the LUT's
driving levels of what they show without it; switching calibration off
brings the identity back (the QA store is watched).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication

from tests.shared_data import shared
from viewer.dicom.geometry import Geometry
from viewer.dicom.image2d import ImageSeries
from viewer.dicom.volume import Volume

pytestmark = pytest.mark.gui

CR = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"


def patch_volume() -> Volume:
    """16 vertical patches of values in the middle of their P-value bins (window 0..4096)."""
    array = np.zeros((3, 8, 96), np.float32)
    for n in range(16):
        array[:, :, n * 6:(n + 1) * 6] = 17 * n * 16 + 8
    geometry = Geometry((96, 8, 3), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    return Volume(array, geometry, modality="CT")


def gamma_curve():
    from viewer.display.calibration import CharacteristicCurve

    ddl = np.linspace(0, 255, 18)
    return CharacteristicCurve(ddl, 0.5 + 300.0 * (ddl / 255.0) ** 2.2, ambient=0.3)


@pytest.fixture
def ct_and_cr(qtbot, grid):
    grid.set_layout("1x2")
    cr = ImageSeries.from_paths([shared(CR)])
    assert cr.modality == "CR"
    grid.show_volumes([(patch_volume(), None), (cr, None)])
    ct_vp, cr_vp = grid.cells[0].child, grid.cells[1].child
    ct_vp.model.set_window(2048, 4096)  # centre, width
    ct_vp.view.set_interpolation("nearest")
    cr_vp.view.set_interpolation("nearest")
    for vp in (ct_vp, cr_vp):
        vp.view.set_overlay_visible(False)
    return grid, ct_vp, cr_vp


def test_the_banner_is_over_the_cr_viewport_only(qtbot, ct_and_cr) -> None:
    grid, _ct, _cr = ct_and_cr
    ct_banner, cr_banner = (c.display.banner for c in grid.cells)
    qtbot.waitUntil(cr_banner.isVisible)
    assert cr_banner.text() == "Not for diagnosis: this screen is 2.3 MP, CR needs 3 MP"
    assert not ct_banner.isVisible()
    assert ct_banner.verdict is not None and ct_banner.verdict.fit
    # the banner sits above the CR image in its cell, over the cell's whole width
    cell = grid.cells[1]
    assert cr_banner.geometry().bottom() < cell.child.geometry().top()
    assert cr_banner.width() >= cell.child.width()
    # and in the grid's screenshot (VTK pixels pasted, the banner drawn as shown)
    rgb = grid.capture().astype(int)
    red = (np.abs(rgb[..., 0] - 0xC0) < 8) & (rgb[..., 1] < 8) & (rgb[..., 2] < 8)
    half = rgb.shape[1] // 2
    assert red[:, half:].sum() > 0.5 * cr_banner.width() * cr_banner.height()
    assert red[:, :half].sum() == 0

    grid.set_layout("1x1")  # the CT alone: no banner anywhere
    qtbot.wait(50)
    assert not any(c.display.banner.isVisible() for c in grid.cells)


def test_calibrated_screen_drives_the_viewports_through_its_lut(qtbot, ct_and_cr) -> None:
    from viewer.display import qa_store
    from viewer.display.screens import from_qscreen

    grid, ct_vp, cr_vp = ct_and_cr
    screen = from_qscreen(QGuiApplication.primaryScreen())
    before = {n: vp.capture()[..., 0] for n, vp in (("ct", ct_vp), ("cr", cr_vp))}
    assert len(np.unique(before["ct"])) >= 16  # the 16 patches are on screen
    qa_store.save_curve(screen, gamma_curve(), enabled=True)
    lut = qa_store.presentation_lut_for(screen)
    assert lut is not None
    qtbot.waitUntil(lambda: all(c.display.lut is not None for c in grid.cells), timeout=5000)
    for name, vp in (("ct", ct_vp), ("cr", cr_vp)):
        got = vp.capture()
        assert np.array_equal(got[..., 0], got[..., 2])
        np.testing.assert_array_equal(got[..., 0], lut.apply(before[name]), err_msg=name)

    qa_store.set_calibration_enabled(screen, False)
    qtbot.waitUntil(lambda: all(c.display.lut is None for c in grid.cells), timeout=5000)
    for name, vp in (("ct", ct_vp), ("cr", cr_vp)):
        np.testing.assert_array_equal(vp.capture()[..., 0], before[name], err_msg=name)


def test_a_new_series_in_a_calibrated_cell_gets_the_lut(qtbot, grid) -> None:
    from viewer.display import qa_store
    from viewer.display.screens import from_qscreen

    screen = from_qscreen(QGuiApplication.primaryScreen())
    qa_store.save_curve(screen, gamma_curve(), enabled=True)
    grid.show_volume(patch_volume())
    display = grid.cells[0].display
    qtbot.waitUntil(lambda: display.lut is not None, timeout=5000)
    first = grid.cells[0].child.view
    assert first._presentation is display.lut
    grid.show_volume(patch_volume())  # a new SliceView in the same viewport
    second = grid.cells[0].child.view
    assert second is not first and second._presentation is display.lut


def test_every_mpr_viewport_has_its_banner_on_a_stricter_site(qtbot, grid, regard_home,
                                                              phantom) -> None:
    """A site asking 3 MP for CT: the three planes and the 3-D view all say so."""
    (regard_home / "site-config.toml").write_text('[display.exams]\nCT = "3MP"\n')
    grid.set_layout("mpr")  # new cells: they read the site's policy
    grid.show_mpr(phantom)
    qtbot.waitUntil(lambda: all(c.display.banner.isVisible() for c in grid.cells))
    assert {c.display.banner.text() for c in grid.cells} == {
        "Not for diagnosis: this screen is 2.3 MP, CT needs 3 MP"}


def test_an_emptied_viewport_drops_its_banner(qtbot, grid) -> None:
    import dataclasses

    grid.set_layout("1x1")
    mammo = dataclasses.replace(patch_volume(), modality="MG")  # needs 5 MP: unfit here
    grid.show_volumes([(mammo, None)])
    vp, banner = grid.cells[0].child, grid.cells[0].display.banner
    qtbot.waitUntil(banner.isVisible)
    vp.clear()  # e.g. a streaming preview removed before the volume comes
    qtbot.waitUntil(lambda: not banner.isVisible())
