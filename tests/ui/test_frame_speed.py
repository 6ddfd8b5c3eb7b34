"""What the fast frame paths put on the screen (bench/interaction.py measures their speed).

Oracles: the X server's own copy of a viewport's window (``QScreen.grabWindow``,
an XGetImage of what is displayed) against VTK's read-back of the frame it
rendered; and a freshly made viewport rendered at full quality with the same
state. ``capture()`` reads VTK's framebuffers, not the screen, so without the
X server's copy a wrong blit to the window would go unnoticed.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QImage

pytestmark = pytest.mark.gui


def screen_rgb(widget) -> np.ndarray:
    """The widget's window as the X server displays it, RGB uint8 (rows, cols, 3)."""
    QGuiApplication.sync()
    image = QGuiApplication.primaryScreen().grabWindow(int(widget.winId())).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : w * 3].reshape(h, w, 3).copy()


def assert_same_up_to_nearest_ties(shown: np.ndarray, rendered: np.ndarray) -> None:
    differ = (shown != rendered).any(axis=-1)
    assert differ.mean() < 0.01
    padded = np.pad(rendered, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = differ.shape
    neighbours = [padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                  for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    matched = np.any([(n == shown).all(axis=-1) for n in neighbours], axis=0)
    assert matched[differ].all()


def _mpr(grid, phantom, overlays: bool = True):
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    if not overlays:  # the image alone: text and lines blur at a reduced resolution
        for vp in grid.viewports:
            vp.view.set_overlay_visible(False)
        grid.scene.set_crosshair_visible(False)
    grid.render_all()
    return grid.viewports


def test_the_screen_shows_the_rendered_frame(qtbot, grid, phantom) -> None:
    """A frame drawn straight into the window (VTKHost._render_direct) is the frame VTK
    renders in its own framebuffer and reads back: image, overlay text, crosshair and a
    distance measurement, in the same order."""
    viewports = _mpr(grid, phantom)
    axial = viewports[0]
    axial.model.set_tool("distance")
    w, h = (round(n / axial.device_ratio()) for n in axial.device_size())
    qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=QPoint(w // 4, h // 3))
    qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=QPoint(3 * w // 4, h // 2))
    assert len(axial.model.measurements) == 1
    for vp in viewports:
        assert vp.direct_frames
        vp.render_now()  # a direct frame
        shown = screen_rgb(vp)
        rendered = vp.capture()  # VTK's framebuffer, read back
        assert rendered.std() > 5  # an image, not a blank window
        assert shown.shape == rendered.shape
        assert np.array_equal(shown, rendered), vp.model.plane_name


def test_a_drag_draws_unfiltered_frames_and_the_release_the_full_quality_one(
        qtbot, grid, phantom) -> None:
    axial, coronal, sagittal = _mpr(grid, phantom, overlays=False)
    size = axial.device_size()
    r = axial.device_ratio()
    start = QPoint(round(size[0] / r / 2), round(size[1] / r / 2))
    qtbot.mousePress(axial, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(axial, start + QPoint(9, -7))
    planes = (axial, coronal, sagittal)
    # nearest resampling and magnification while dragging (no bilinear full-window pass)
    assert all(vp.view.interacting and not vp.view.image.linear for vp in planes)
    coronal.render_now()  # a drag frame, drawn straight into the window
    dragging = screen_rgb(coronal)
    # the frame VTK renders in its own framebuffer, up to ties of the nearest texel where a
    # texel edge falls on a pixel centre (llvmpipe's fixed-point path for the window's
    # 8-bit buffer rounds them the other way): a column or row of the neighbour's value
    assert_same_up_to_nearest_ties(dragging, coronal.capture())
    qtbot.mouseRelease(axial, Qt.MouseButton.LeftButton, pos=start + QPoint(9, -7))
    assert all(not vp.view.interacting and vp.view.image.linear for vp in planes)
    qtbot.waitUntil(lambda: not coronal._dirty)
    released = screen_rgb(coronal)
    assert not np.array_equal(dragging, released)
    # the same picture, unfiltered (not a misplaced or blank one)
    a, b = (x.astype(float).mean(axis=-1).ravel() for x in (dragging, released))
    assert np.corrcoef(a, b)[0, 1] > 0.95
    assert np.abs(a - b).mean() < 6
    # oracle: the same state rendered at full quality by a viewport that never dragged
    point = grid.mpr.point.copy()
    grid.set_layout("1x1")
    _mpr(grid, phantom, overlays=False)
    grid.set_crosshair(point)
    grid.render_all()
    fresh = grid.viewports[1].capture()
    assert np.array_equal(released, fresh)


def test_the_three_planes_are_drawn_together_on_worker_threads(
        qtbot, grid, phantom, monkeypatch) -> None:
    """A crosshair move re-renders the three planes at once (vtk_host.render_together), each
    on a worker thread, and what reaches the screen is each window's own frame."""
    planes = _mpr(grid, phantom)
    qtbot.wait(50)  # the paints of showing the layout
    threads: list[str] = []
    for vp in planes:
        def spy(draw=vp._draw_frame) -> None:
            threads.append(threading.current_thread().name)
            draw()
        monkeypatch.setattr(vp, "_draw_frame", spy)
    grid.set_crosshair(grid.mpr.point + np.array([5.0, -4.0, 3.0]))
    qtbot.waitUntil(lambda: not any(vp._dirty for vp in planes))
    drawn = list(threads)
    assert len(drawn) == 3
    assert all(name.startswith("frame") for name in drawn), drawn
    for vp in planes:  # the UI thread can draw the windows again (contexts released)
        shown = screen_rgb(vp)
        rendered = vp.capture()
        assert rendered.std() > 5
        assert np.array_equal(shown, rendered), vp.model.plane_name


def test_a_viewport_given_one_volume_after_another_still_draws_to_the_screen(
        qtbot, grid, phantom) -> None:
    """Each new volume brings a new SliceView and renderer into the same window; every one
    is drawn to the screen by direct frames (the host once remembered its renderers by
    id(), which a new renderer can reuse; whether it does is up to the allocator, so this
    checks the outcome over a dozen swaps, not the reuse itself)."""
    import gc

    from tests.ui.conftest import phantom_volume

    vp = grid.viewports[0]
    for n in range(12):
        vp.set_volume(phantom_volume() if n % 2 else phantom)
        gc.collect()  # the previous view's renderer goes
        vp.model.set_window(400 + 50 * n, 40)  # each frame differs from the one before
        vp.render_now()
        shown = screen_rgb(vp)
        rendered = vp.capture()
        assert rendered.std() > 5
        assert np.array_equal(shown, rendered), n
