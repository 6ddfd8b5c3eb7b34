"""Child process for test_fullscreen.py: show a pattern full-screen and read the pixels back.

Prints one JSON line. Under X the pixels come from the X server's root window
(``QScreen.grabWindow(0)``), i.e. what the screen really shows. Qt's offscreen
platform cannot grab at device pixels, so there (HiDPI case) the window's
drawing is replayed on a device-pixel image with the screen's ratio.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from PySide6.QtGui import QGuiApplication, QImage, QPainter

from viewer.display import patterns
from viewer.display.fullscreen import gray_qimage, physical_size, show_pattern


def to_array(image: QImage) -> np.ndarray:
    g = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h = g.width(), g.height()
    raw = np.frombuffer(g.constBits(), np.uint8, g.bytesPerLine() * h)
    return raw.reshape(h, g.bytesPerLine())[:, :w].copy()


def main() -> None:
    app = QGuiApplication(sys.argv[:1])
    screen = app.primaryScreen()
    w, h = physical_size(screen)
    expected = patterns.to_display(patterns.tg18_qc(w, h))
    if sys.argv[1] == "x11":
        window = show_pattern(expected, screen)
        deadline = time.monotonic() + 10
        while not window.isExposed() and time.monotonic() < deadline:
            app.processEvents()
        for _ in range(5):
            app.processEvents()
            time.sleep(0.05)
        shown = to_array(screen.grabWindow(0).toImage())
    else:
        dpr = screen.devicePixelRatio()
        device = QImage(w, h, QImage.Format.Format_Grayscale8)
        device.setDevicePixelRatio(dpr)
        device.fill(0)
        painter = QPainter(device)
        painter.drawImage(0, 0, gray_qimage(expected, dpr))
        painter.end()
        shown = to_array(device)
    same = shown.shape == expected.shape
    differ = int(np.count_nonzero(shown != expected)) if same else -1
    print(json.dumps({"physical": [w, h], "shown": list(shown.shape[::-1]), "differ": differ}))


if __name__ == "__main__":
    main()
