"""The screens a window can be on: a plain description, and reading it from Qt.

:class:`ScreenInfo` is a Qt-free dataclass so the verdict logic
(:mod:`viewer.display.policy`) is testable without a display. The regulation
speaks in megapixels of the panel, so the size that counts is the PHYSICAL one:
Qt's logical geometry times ``devicePixelRatio`` (a 4K panel at 200% scaling
reports 1920x1080 logical pixels but has 3840x2160).

:func:`from_qscreen` and :func:`list_screens` are the only functions here that
touch Qt (``PySide6.QtGui`` only, never widgets).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from PySide6.QtGui import QScreen

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreenInfo:
    """One screen as the operating system reports it.

    ``logical_width``/``logical_height`` and ``x``/``y`` are in Qt's
    device-independent pixels; ``device_pixel_ratio`` converts to panel pixels.
    """

    name: str
    logical_width: int
    logical_height: int
    device_pixel_ratio: float = 1.0
    x: int = 0
    y: int = 0
    manufacturer: str = ""
    model: str = ""
    serial: str = ""

    @property
    def width(self) -> int:
        """Physical (panel) pixels across."""
        return round(self.logical_width * self.device_pixel_ratio)

    @property
    def height(self) -> int:
        """Physical (panel) pixels down."""
        return round(self.logical_height * self.device_pixel_ratio)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def megapixels(self) -> float:
        """Physical pixel count in millions (1600x1200 -> 1.92)."""
        return self.pixels / 1e6

    @property
    def key(self) -> str:
        """A stable identifier for QA records: serial when known, else model and name."""
        parts = [p for p in (self.manufacturer, self.model, self.serial) if p]
        if self.serial:
            return "_".join(parts)
        return "_".join([*parts, self.name, f"{self.width}x{self.height}"])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(width=self.width, height=self.height, megapixels=round(self.megapixels, 3))
        return out


def from_qscreen(screen: QScreen) -> ScreenInfo:
    """Describe a ``QScreen`` (Qt's view of one monitor)."""
    geo = screen.geometry()
    return ScreenInfo(
        name=screen.name(),
        logical_width=geo.width(),
        logical_height=geo.height(),
        device_pixel_ratio=float(screen.devicePixelRatio()),
        x=geo.x(),
        y=geo.y(),
        manufacturer=screen.manufacturer() or "",
        model=screen.model() or "",
        serial=screen.serialNumber() or "",
    )


def list_screens() -> list[ScreenInfo]:
    """All screens of the running QGuiApplication (one is created if none exists).

    The caller chooses the platform (``QT_QPA_PLATFORM``, ``DISPLAY``); with no
    display at all Qt aborts the process, so callers check first (see
    :func:`display_available`).
    """
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        app = QGuiApplication(["regard"])
    screens = [from_qscreen(s) for s in QGuiApplication.screens()]
    log.debug("%d screen(s) found", len(screens))
    return screens


def display_available(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt has a display to read screens from (avoid Qt's abort without one)."""
    import os
    import sys

    env = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin"):
        return True
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # offscreen, minimal, eglfs, vnc...: no X needed
    if platform.startswith("wayland"):
        return bool(env.get("WAYLAND_DISPLAY"))
    if env.get("WAYLAND_DISPLAY") and not platform:
        return True
    return x_display_reachable(env.get("DISPLAY", ""))


def x_display_reachable(display: str) -> bool:
    """Whether an X display exists (local ``:N`` displays: their socket), so that Qt's xcb
    plugin does not abort the process on a dead DISPLAY."""
    import re
    from pathlib import Path

    if not display:
        return False
    local = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if local is None:
        return True  # remote or unusual DISPLAY: let Qt try
    return Path(f"/tmp/.X11-unix/X{local.group(1)}").exists()
