"""Starting the reading station: window first, VTK after, optional screenshot-and-exit.

``run(...)`` is what ``regard`` (no subcommand) and ``regard view`` call. The
main window is shown before VTK is imported; the viewport grid is built on
the next event-loop turn. With ``screenshot``, once the images are shown and
every viewport has rendered, the viewport grid (images and overlays, no
toolbars or browser) is saved from VTK's pixels and the application exits.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

T0 = time.perf_counter()


def ensure_platform(screenshot: bool) -> None:
    """Without a display, a screenshot run uses Qt's offscreen platform (VTK host handles it)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def save_rgb_png(rgb: object, path: Path) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path)  # type: ignore[arg-type]


def run(path: str | None = None, layout: str | None = None, screenshot: str | None = None,
        timeout: float = 180.0, archives: dict[str, object] | None = None) -> int:
    """Open the main window (optionally on ``path``); returns the exit code.

    ``archives`` (name -> :class:`viewer.archive.nodes.ArchiveNode`) are listed in the
    study browser beside the configured ones (``regard demo`` adds its demo archive).
    """
    ensure_platform(screenshot is not None)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from viewer.ui.i18n import install_translator
    from viewer.ui.main_window import MainWindow, gate_authorizer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Regard")
    install_translator(app)  # type: ignore[arg-type]
    # a screenshot run is unattended: no login or screen-acknowledgement dialogs, the access
    # gate still authorises and records the viewing (worker thread) before any decoding
    win = MainWindow(authorizer=gate_authorizer if screenshot is not None else None)
    if archives:
        win.browser.set_archives(dict(archives))
        win.browser.show_archive(next(iter(archives)))  # its studies listed at once
    win.show()
    log.debug("window shown %.2f s after start", time.perf_counter() - T0)
    QTimer.singleShot(0, win.load_viewers)
    if layout:
        win.forced_layout = layout
        win.set_layout(layout)
    result = {"code": 0}
    if screenshot is not None:
        win.quiet = True  # type: ignore[attr-defined]
        out = Path(screenshot)

        def shoot() -> None:
            grid = win.grid
            for _ in range(3):
                app.processEvents()
            grid.render_all()
            save_rgb_png(grid.capture(), out)
            print(out)
            app.exit(0)

        def failed(message: str) -> None:
            print(f"regard: {message}", file=sys.stderr)
            result["code"] = 1
            app.exit(1)

        def too_long() -> None:
            print(f"regard: no image shown within {timeout:g} s", file=sys.stderr)
            app.exit(2)

        win.images_shown.connect(lambda: QTimer.singleShot(50, shoot))
        win.load_failed.connect(failed)
        QTimer.singleShot(int(timeout * 1000), too_long)
    if path:
        win.open_path(path)
    return int(app.exec() or result["code"])
