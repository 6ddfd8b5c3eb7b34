"""A quiet reading station (main window, viewers loaded) for GUI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


def station_window(qtbot: Any, size: tuple[int, int] = (1200, 800)) -> Any:
    """A shown main window with its viewers ready; failures go to signals, not boxes."""
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    win.quiet = True
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    win.load_viewers()
    return win


def station_showing(qtbot: Any, path: Path | str) -> Any:
    """A station that opened ``path`` (hanging protocol applied, images shown)."""
    win = station_window(qtbot)
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(path)
    return win


def archive_station(qtbot: Any, name: str, node: Any) -> Iterator[Any]:
    """A station whose browser searches one archive ``name``; its retrievals are cancelled
    when the test ends (a fixture's body: ``yield from archive_station(...)``)."""
    win = station_window(qtbot)
    win.browser.set_archives({name: node})
    yield win
    for job in list(win.browser.jobs.values()):
        job.cancel()
    win.close()
