"""The angle, elliptical ROI and curved MPR actions in the main window (real X window).

Oracles: the analytic S-shaped tube of tests/ui/test_curved_tool.py clicked
in the MPR's axial view, the bright band found in the CPR window's pixels,
and a constant region's value under an elliptical ROI.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.render.volumes import make_volume
from tests.ui.test_curved_tool import CENTER, at, clicks, s_tube
from viewer.ui.extra_tools import install

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, qapp):
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    win.quiet = True
    qtbot.addWidget(win)
    win.resize(1000, 800)
    win.show()
    win.load_viewers()
    qtbot.waitExposed(win)
    yield win
    tools = getattr(win, "extra_tools", None)
    if tools is not None and tools.curved_window is not None:
        tools.curved_window.viewport.close_vtk()
        tools.curved_window.close()
    for host in win.grid.hosts():
        host.close_vtk()
    win.close()


def test_curved_mpr_action_on_the_mpr_axial_view_opens_the_cpr(qtbot, window) -> None:
    volume = make_volume(s_tube, np.eye(3), (0.4, 0.4, 1.0), dims=(120, 110, 9),
                         center=tuple(CENTER), modality="CT", rescale_type="HU")
    tools = install(window)
    assert window.extra_tools is tools  # installed by load_viewers
    assert install(window) is tools  # once per window
    menu_texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()] + [
        a.text() for m in window.menuBar().actions() if m.menu()
        for a in m.menu().actions()]
    assert {"Angle", "Elliptical ROI", "Curved MPR"} <= set(menu_texts)
    window.grid.set_layout("mpr")
    window.grid.show_volume(volume)
    window.grid.set_crosshair(CENTER)
    axial = window.grid.viewports[0]
    assert axial.view.plane.name.startswith("axial")
    window.grid.render_all()
    tools.actions["curved"].trigger()
    assert tools.current == "curved"
    pts = clicks()
    for p in pts[:-1]:
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=at(axial, p))
    qtbot.mouseDClick(axial, Qt.MouseButton.LeftButton, pos=at(axial, pts[-1]))
    # clicks drew a centre line, they did not move the MPR crosshair
    np.testing.assert_allclose(window.grid.mpr.point, CENTER, atol=1.0)
    cw = tools.curved_window
    assert cw is not None and cw.isVisible()
    qtbot.waitExposed(cw)
    target = cw.viewport
    target.model.set_window(500.0, 1000.0)
    target.view.set_overlay_visible(False)
    rgb = target.capture()
    bright = np.all(rgb >= 200, axis=-1)
    cols = np.flatnonzero(bright.sum(axis=0) > 0.5 * bright.shape[0] * 0.5)
    assert cols.size > 0
    assert abs(cols.mean() - rgb.shape[1] / 2) < 0.1 * rgb.shape[1]
    # one of the window's own tools switches ours off
    window.tool_actions["distance"].trigger()
    assert tools.current == "" and not tools.actions["curved"].isChecked()


def test_ellipse_and_angle_actions_measure_in_the_active_viewport(qtbot, window) -> None:
    def regions(lps: np.ndarray) -> np.ndarray:
        return np.where(lps[:, 0] < 5.0, 100.0, 300.0)

    volume = make_volume(regions, np.eye(3), (0.5, 0.5, 2.0), dims=(100, 100, 5),
                         center=(0.0, 0.0, 0.0), modality="CT", rescale_type="HU")
    tools = install(window)
    window.grid.show_volume(volume)
    vp = window.grid.viewports[0]
    vp.render_now()
    tools.actions["ellipse"].trigger()
    start, end = at(vp, np.array([-15.0, -6.0, 0.0])), at(vp, np.array([-3.0, 6.0, 0.0]))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, (start + end) / 2)
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    ellipse = tools.tool_for("ellipse", vp)
    assert len(ellipse.rois) == 1 and ellipse.rois[0].stats.mean == pytest.approx(100.0)
    tools.actions["angle"].trigger()
    assert not ellipse.active
    for p in ([10.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 10.0, 0.0]):
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=at(vp, np.array(p)))
    angle = tools.tool_for("angle", vp)
    assert angle.angles[0].degrees == pytest.approx(90.0, abs=1.5)
    assert len(ellipse.rois) == 1  # the ellipse tool was off
    # the window's "Clear measurements" clears them too
    clear = next(a for a in window.actions() if a.text() == "Clear measurements")
    clear.trigger()
    assert ellipse.rois == [] and angle.angles == []
