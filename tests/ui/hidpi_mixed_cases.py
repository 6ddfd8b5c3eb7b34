"""pytest-qt cases on two screens of different scaling, run by test_hidpi.py.

Not collected by the main session (no ``test_`` prefix): the parent starts an Xvfb
whose X screen is split into two RandR monitors, "Hi" (1920x1200 at 200 %) and "Lo"
(1920x1200+1920+0 at 100 %, QT_SCREEN_SCALE_FACTORS="Hi=2;Lo=1"), and runs this file
in a child pytest on it (DISPLAY from the parent, not the GUI session's own Xvfb).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QCursor, QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import phantom_volume

pytestmark = pytest.mark.gui


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str]) -> Iterator[object]:
    """The parent's X server (DISPLAY) with its two monitors."""
    app = QApplication.instance() or QApplication(qapp_args)
    assert sorted(s.name() for s in QGuiApplication.screens()) == ["Hi", "Lo"]
    yield app


def screen(name: str) -> QScreen:
    return next(s for s in QGuiApplication.screens() if s.name() == name)


@pytest.fixture
def viewport(qtbot, qapp):
    from viewer.ui.viewport import SliceViewport

    vp = SliceViewport()
    qtbot.addWidget(vp)
    yield vp
    vp.hide()
    vp.close_vtk()


def _show_on(qtbot, vp, name: str) -> None:
    vp.move(screen(name).geometry().topLeft() + QPoint(40, 40))
    if not vp.isVisible():
        vp.resize(300, 200)
        vp.show()
        qtbot.waitExposed(vp)
    qtbot.waitUntil(lambda: vp.screen().name() == name, timeout=5000)
    qtbot.wait(100)


def _physical(vp) -> tuple[int, int]:
    r = vp.screen().devicePixelRatio()
    return round(vp.width() * r), round(vp.height() * r)


@pytest.mark.parametrize(("where", "cursor"), [("Lo", "Hi"), ("Hi", "Lo")])
def test_render_window_counts_its_own_screens_pixels(qtbot, viewport, where: str,
                                                     cursor: str) -> None:
    """Not the pixels of the screen under the mouse cursor (QVTKRenderWindowInteractor's
    guess): 300x200 logical is 600x400 device pixels on Hi, 300x200 on Lo."""
    QCursor.setPos(screen(cursor).geometry().center())
    _show_on(qtbot, viewport, where)
    viewport.resize(320, 210)
    qtbot.wait(100)
    assert viewport.device_ratio() == screen(where).devicePixelRatio()
    assert viewport.device_size() == _physical(viewport)


def test_moving_to_a_screen_of_another_scaling_resizes_the_render_window(qtbot,
                                                                         viewport) -> None:
    QCursor.setPos(screen("Lo").geometry().center())
    viewport.set_volume(phantom_volume())
    for name in ("Hi", "Lo", "Hi"):
        _show_on(qtbot, viewport, name)
        qtbot.waitUntil(lambda: viewport.device_size() == _physical(viewport), timeout=5000)
        rgb = viewport.capture()
        assert rgb.shape[:2] == _physical(viewport)[::-1], name
        # overlay text drawn for this screen's ratio
        assert viewport.view.overlay.font_size == round(14 * viewport.device_ratio()), name
