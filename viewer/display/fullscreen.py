"""Show a test pattern full-screen, one image pixel per physical screen pixel.

QtGui only (``QRasterWindow``, no widgets): display QA needs the pattern at the
panel's native resolution without scaling (TG18, and the French mammography QC
"true pixel" mode). The image is given the screen's device pixel ratio so Qt
draws it unscaled on HiDPI screens. When software GSDF calibration is enabled
for the screen (:mod:`viewer.display.qa_store`), the P-values go through its
presentation LUT first, as the viewer does for images.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QRasterWindow

if TYPE_CHECKING:  # pragma: no cover
    from PySide6.QtGui import QKeyEvent, QMouseEvent, QPaintEvent, QScreen

log = logging.getLogger(__name__)


def gray_qimage(pixels: NDArray[np.uint8], device_pixel_ratio: float = 1.0) -> QImage:
    """An 8-bit grey QImage holding its own copy of ``pixels`` (rows x columns)."""
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = arr.shape
    image = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8).copy()
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


class PatternWindow(QRasterWindow):
    """A frameless full-screen window drawing an 8-bit image 1:1; any key or click closes it."""

    def __init__(self, pixels: NDArray[np.uint8], screen: QScreen) -> None:
        super().__init__()
        self.setScreen(screen)
        self.setFlag(Qt.WindowType.FramelessWindowHint, True)
        self.setGeometry(screen.geometry())
        self._image = gray_qimage(pixels, screen.devicePixelRatio())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self._image)
        painter.end()

    def keyPressEvent(self, _event: QKeyEvent) -> None:
        self.close()

    def mousePressEvent(self, _event: QMouseEvent) -> None:
        self.close()


def physical_size(screen: QScreen) -> tuple[int, int]:
    geo, dpr = screen.geometry(), screen.devicePixelRatio()
    return round(geo.width() * dpr), round(geo.height() * dpr)


def pick_screen(which: str | None) -> QScreen:
    """A screen by index or name (None: the primary screen)."""
    screens = QGuiApplication.screens()
    if which is None:
        return QGuiApplication.primaryScreen()
    if which.isdigit() and int(which) < len(screens):
        return screens[int(which)]
    for screen in screens:
        if screen.name() == which:
            return screen
    names = ", ".join(f"{i}:{s.name() or '?'}" for i, s in enumerate(screens))
    raise LookupError(f"no screen {which!r} (screens: {names})")


def show_pattern(pixels: NDArray[np.uint8], screen: QScreen) -> Any:
    """Create and show the full-screen window (the caller runs the event loop)."""
    window = PatternWindow(pixels, screen)
    window.showFullScreen()
    return window
