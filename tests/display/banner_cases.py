"""pytest-qt cases for the display banner, run by test_banner.py in a child pytest.

Not collected by the main session (no ``test_`` prefix): each run needs its own
QApplication on its own screen set (an Xvfb with two X screens, or Qt's
offscreen platform with two positioned screens), chosen by the parent through
DISPLAY / QT_QPA_PLATFORM. ``BANNER_MOVE`` says how to change screens:
``setscreen`` (separate X screens) or ``move`` (one virtual desktop).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication, QImage, QScreen
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from viewer.display.policy import Verdict
from viewer.ui.display_banner import DisplayBanner


def screen_of_size(width: int, height: int) -> QScreen:
    for s in QGuiApplication.screens():
        if (s.geometry().width(), s.geometry().height()) == (width, height):
            return s
    raise AssertionError(f"no {width}x{height} screen in {QGuiApplication.screens()}")


def put_on(window: QWidget, screen: QScreen) -> None:
    if os.environ.get("BANNER_MOVE") == "move":
        geo = screen.geometry()
        window.move(geo.x() + 30, geo.y() + 30)
    else:
        # a window changing X screen is recreated there; Qt leaves the widget hidden
        window.windowHandle().setScreen(screen)
        window.show()


def shown(banner: DisplayBanner) -> bool:
    return banner.isVisible() and banner.window().isVisible()


def red_fraction(widget: QWidget) -> float:
    """Share of the banner's own pixels that are the banner red (#c00000)."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    rgb = arr.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(int)
    red = (np.abs(rgb[..., 0] - 0xC0) < 8) & (rgb[..., 1] < 8) & (rgb[..., 2] < 8)
    return float(red.mean())


@pytest.fixture
def viewport(qtbot: QtBot) -> tuple[QWidget, DisplayBanner]:
    window = QWidget()
    layout = QVBoxLayout(window)
    banner = DisplayBanner(language=os.environ.get("BANNER_LANG", "en"))
    image = QLabel("image")
    image.setMinimumSize(300, 200)
    layout.addWidget(banner)
    layout.addWidget(image)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    put_on(window, screen_of_size(1280, 1024))
    qtbot.waitUntil(lambda: window.windowHandle().screen() is screen_of_size(1280, 1024))
    return window, banner


def test_moving_the_window_between_screens_changes_the_banner(
    qtbot: QtBot, viewport: tuple[QWidget, DisplayBanner]
) -> None:
    window, banner = viewport
    seen: list[Verdict | None] = []
    banner.verdictChanged.connect(seen.append)
    banner.set_exam("CR")
    qtbot.waitUntil(lambda: shown(banner))
    assert banner.text() == "Not for diagnosis: this screen is 1.3 MP, CR needs 3 MP"
    assert red_fraction(banner) > 0.5
    assert seen[-1] is not None and not seen[-1].fit

    put_on(window, screen_of_size(1536, 2048))
    qtbot.waitUntil(lambda: not shown(banner))
    assert banner.verdict is not None and banner.verdict.fit
    assert banner.verdict.actual_mp == pytest.approx(1536 * 2048 / 1e6)

    put_on(window, screen_of_size(1280, 1024))
    qtbot.waitUntil(lambda: shown(banner))
    assert red_fraction(banner) > 0.5
    assert [v.fit for v in seen if v is not None] == [False, True, False]


def test_exam_type_changes_the_verdict_on_the_same_screen(
    qtbot: QtBot, viewport: tuple[QWidget, DisplayBanner]
) -> None:
    window, banner = viewport
    put_on(window, screen_of_size(1536, 2048))
    qtbot.waitUntil(lambda: window.windowHandle().screen() is screen_of_size(1536, 2048))
    banner.set_exam("CT")
    qtbot.wait(50)
    assert not shown(banner)
    banner.set_exam("MG")
    qtbot.waitUntil(lambda: shown(banner))
    assert "MG needs 5 MP" in banner.text()
    banner.set_exam(None)
    assert not shown(banner) and banner.verdict is None


def test_french_banner(qtbot: QtBot, viewport: tuple[QWidget, DisplayBanner]) -> None:
    _, banner = viewport
    banner.set_language("fr")
    banner.set_exam("CR")
    qtbot.waitUntil(lambda: shown(banner))
    assert banner.text() == "Pas pour le diagnostic : cet écran fait 1,3 MP, le CR exige 3 MP"


def monitors(*args: str) -> None:
    """Change the RandR monitors of the X server (see xrandr_monitors.py)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("xrandr_monitors.py")
    subprocess.run([sys.executable, str(script), *args], check=True, timeout=30)


def test_screen_removed_and_added_rechecks(
    qtbot: QtBot, viewport: tuple[QWidget, DisplayBanner]
) -> None:
    """Unplugging the 3 MP screen under the window moves it to the small one: banner up."""
    window, banner = viewport
    put_on(window, screen_of_size(1536, 2048))
    banner.set_exam("DX")
    qtbot.waitUntil(lambda: banner.verdict is not None and banner.verdict.fit)
    assert not shown(banner)
    with qtbot.waitSignal(QGuiApplication.instance().screenRemoved, timeout=5000):
        monitors("del", "Diag")
    qtbot.waitUntil(lambda: shown(banner))
    assert banner.text() == "Not for diagnosis: this screen is 1.3 MP, DX needs 3 MP"
    with qtbot.waitSignal(QGuiApplication.instance().screenAdded, timeout=5000):
        monitors("set", "Diag", "1536x2048+1280+0")
    # the window never moved: it is on the 3 MP screen again, banner down
    qtbot.waitUntil(lambda: not shown(banner))
    assert banner.verdict is not None and banner.verdict.fit
