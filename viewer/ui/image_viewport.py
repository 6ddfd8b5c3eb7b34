"""A viewport for what is not a volume: an :class:`~viewer.render.image_view.ImageView`
hosted in Qt (radiographs, cine loops, colour images).

Mouse (as every 2-D viewport, :mod:`viewer.ui.viewport_base`): wheel = next/previous frame (stack
scroll over instances and frames); Ctrl+wheel = zoom about the cursor;
right-drag = window/level; middle-drag = pan; left button = the active tool
(``scroll``, ``window``, ``zoom``, ``pan``).

Keys: Up/Down, PageUp/PageDown, Home/End = frames; Space = cine play/pause at
the header's frame time (PS3.3 C.7.6.5); T = true pixel 1:1 (again: fit); F = fit; R /
Shift+R = rotate 90 degrees clockwise / anticlockwise; H / V = flip; I =
invert; W = back to the header's window; the shortcuts of the window presets
(header windows 1..n, then the site's presets of the modality). The main
window's actions of the same names call :meth:`ImageViewport.act`.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from viewer.dicom.image2d import ImageSeries
from viewer.render.image_view import ImageView
from viewer.ui.models import Demographics, WindowPreset, format_da, format_pn
from viewer.ui.viewport_base import StackViewport

log = logging.getLogger(__name__)

TOOLS = ("scroll", "window", "zoom", "pan")
_OWN_KEYS = frozenset(int(k) for k in (
    Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home,
    Qt.Key.Key_End, Qt.Key.Key_Space, Qt.Key.Key_W, Qt.Key.Key_T, Qt.Key.Key_F, Qt.Key.Key_R,
    Qt.Key.Key_H, Qt.Key.Key_V, Qt.Key.Key_I,
))


def header_presets(series: ImageSeries, frame: int = 0) -> list[WindowPreset]:
    """The header's windows as presets (PS3.3 C.11.2: Window Center/Width, all values,
    named by Window Center & Width Explanation), shortcuts 1..n."""
    out = []
    for n, (c, w, _fn, text) in enumerate(series.windows(frame)):
        if w >= 1:
            out.append(WindowPreset(f"header-{n + 1}", text or f"Header {n + 1}", w, c,
                                    str(n + 1) if n < 9 else ""))
    return out


def demographics_text(d: Demographics) -> str:
    """Top-left corner: name, ID, INS (with its status), birth date and sex, study date."""
    lines = [format_pn(d.patient_name), d.patient_id]
    if d.ins:
        lines.append(f"INS {d.ins}" + (f" ({d.ins_status})" if d.ins_status else ""))
    lines.append(" ".join(x for x in (format_da(d.birth_date), d.sex) if x))
    lines.append(format_da(d.study_date))
    return "\n".join(x for x in lines if x)


class ImageViewport(StackViewport):
    """One 2-D image viewport; ``view`` is the Qt-free scene (None when empty).

    ``cursor_moved`` gives (column, row) and the value (modality units or RGB) there.
    """

    frame_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: ImageView | None = None
        self.series: ImageSeries | None = None
        self.tool = "scroll"
        self.presets: list[WindowPreset] = []
        self.demographics: Demographics | None = None
        self.corner_texts: dict[str, str] = {}
        self._cine = QTimer(self)
        self._cine.setSingleShot(True)
        self._cine.setTimerType(Qt.TimerType.PreciseTimer)
        self._cine.timeout.connect(self._cine_tick)
        self._cine_due = 0.0

    # ----------------------------------------------------------- content
    def set_series(self, series: ImageSeries, frame: int = 0,
                   presets: list[WindowPreset] | None = None,
                   demographics: Demographics | None = None) -> None:
        """Show ``series`` from ``frame`` (BIR default: the first image), fitted and
        windowed by its header; ``presets`` are the site's for its modality;
        ``demographics`` fill the top-left corner (IHE BIR annotation)."""
        self.clear()
        self.demographics = demographics
        if demographics is not None:
            self.corner_texts["top-left"] = demographics_text(demographics)
        self.series = series
        self.view = ImageView(series, render_window=self.render_window, overlay=True,
                              frame=frame)
        self.presets = header_presets(series, frame) + list(presets or [])
        self.show_corner_texts(self.view, self.corner_texts)
        self.frame_changed.emit(frame)
        self.request_render()

    def set_corner_text(self, corner: str, text: str) -> None:
        """Demographics etc. (``top-left`` ...), kept across series."""
        self.corner_texts[corner] = text
        if self.view is not None:
            self.view.set_corner_text(corner, text)
            self.request_render()

    def clear(self) -> None:
        self.stop()
        self.close_view()
        self.series = None

    def forget(self) -> None:
        """No corner text of the last series (its patient's name) carried to the next."""
        self.corner_texts = {}

    # ------------------------------------------------------------ actions
    @property
    def frame(self) -> int:
        return self.view.index if self.view is not None else -1

    def set_frame(self, n: int) -> None:
        if self.view is None or self.series is None:
            return
        n = min(max(int(n), 0), len(self.series) - 1)
        if n != self.view.index:
            self.view.set_frame(n)
            self.frame_changed.emit(n)
            self.request_render()

    def scroll(self, steps: int) -> None:
        if self.view is not None:
            self.set_frame(self.view.index + steps)

    @property
    def playing(self) -> bool:
        return self._cine.isActive() or self._cine_due > 0

    def play(self) -> None:
        """Cine: advance at the frame time of the header (loops at the end)."""
        if self.view is None or self.series is None or len(self.series) < 2:
            return
        self._cine_due = time.monotonic()
        self._schedule()

    def stop(self) -> None:
        self._cine.stop()
        self._cine_due = 0.0

    def toggle_cine(self) -> None:
        self.stop() if self.playing else self.play()

    def _schedule(self) -> None:
        assert self.view is not None
        interval = self.view.frame_interval_ms() / 1000.0
        self._cine_due += interval
        # a late frame shortens the next wait (the rate holds), never below half a frame
        # time: no burst of frames faster than the header says
        wait = max(interval / 2, self._cine_due - time.monotonic())
        self._cine.start(round(wait * 1000))

    def _cine_tick(self) -> None:
        if self.view is None or self._cine_due == 0:
            return
        n = self.view.step(1, wrap=True)
        self.frame_changed.emit(n)
        self.render_now()
        if time.monotonic() - self._cine_due > self.view.frame_interval_ms() / 1000.0:
            self._cine_due = time.monotonic()  # a stall: start again from now
        self._schedule()

    def set_window(self, width: float, level: float) -> None:
        if self.view is not None:
            self.view.set_window(max(1.0, width), level)
            self.request_render()

    def window_drag(self, dx: float, dy: float) -> None:
        if self.view is None or self.view.colour:
            return
        step = max(self.view.width / 256.0, 0.5)
        self.set_window(self.view.width + dx * step, self.view.center + dy * step)

    def apply_preset(self, preset: WindowPreset) -> None:
        self.set_window(preset.width, preset.level)

    def reset_window(self) -> None:
        if self.view is not None:
            self.view.reset_window()
            self.request_render()

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        if self.view is None:
            return
        if at is None:
            w, h = self.device_size()
            xy = (w / 2.0, h / 2.0)
        else:
            xy = self.to_device(at)
        self.view.zoom_at(xy, factor)
        self.request_render()

    def act(self, action: str) -> None:
        """``fit``, ``true_pixel``, ``rotate``, ``rotate_back``, ``flip_h``, ``flip_v``,
        ``invert``, ``cine`` (toggle) or ``reset_window``: the main window's actions."""
        if action == "cine":
            self.toggle_cine()
        elif action == "reset_window":
            self.reset_window()
        else:
            self._do(action)

    def _do(self, action: str) -> None:
        view = self.view
        if view is None:
            return
        if action == "true_pixel":
            # the VTK window counts device pixels (QVTKRenderWindowInteractor scales by
            # the device pixel ratio): one image pixel per window pixel is 1:1 on screen
            view.set_true_pixel(1.0)
        else:
            {"fit": view.fit, "rotate": view.rotate, "rotate_back": lambda: view.rotate(-1),
             "flip_h": view.flip_horizontal, "flip_v": view.flip_vertical,
             "invert": lambda: view.set_invert(not view.user_invert)}[action]()
        self.request_render()

    def fit(self) -> None:
        self._do("fit")

    def true_pixel(self) -> None:
        self._do("true_pixel")

    # ------------------------------------------------------------ frames
    def prepare_frame(self) -> None:
        if self.view is not None:
            self.view.prepare()

    # ------------------------------------------------- gestures (StackViewport)
    def active_tool(self) -> str:
        return self.tool

    def go_to(self, index: int) -> None:
        self.set_frame(index)

    def image_count(self) -> int:
        return len(self.series) if self.series is not None else 0

    def pan_drag(self, dx: float, dy: float) -> None:
        assert self.view is not None
        r = self.device_ratio()
        self.view.pan_by(dx * r, dy * r)
        self.request_render()

    def zoom_drag(self, dy: float) -> None:
        self.zoom_by(1.01 ** (-dy), self._press)

    def wheel_zoom(self, factor: float, at: QPointF) -> None:
        self.zoom_by(factor, at)  # about the cursor

    def report_cursor(self, pos: QPointF) -> None:
        assert self.view is not None
        hit = self.view.pick(self.to_device(pos))
        if hit is not None:
            self.cursor_moved.emit((hit.column, hit.row), hit.value)

    def can_drag(self) -> bool:
        return self.view is not None

    # ------------------------------------------------------------- events
    def handle_key(self, event: QKeyEvent) -> bool:
        if super().handle_key(event):  # the stack keys
            return True
        key = Qt.Key(event.key())
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        actions = {Qt.Key.Key_F: "fit", Qt.Key.Key_R: "rotate_back" if shift else "rotate",
                   Qt.Key.Key_H: "flip_h", Qt.Key.Key_V: "flip_v", Qt.Key.Key_I: "invert"}
        text = event.text()
        preset = next((p for p in self.presets if p.shortcut and p.shortcut == text), None)
        if key == Qt.Key.Key_Space:
            self.toggle_cine()
        elif key == Qt.Key.Key_W:
            self.reset_window()
        elif preset is not None:
            self.apply_preset(preset)
        elif key == Qt.Key.Key_T:
            self._do("fit" if self.view is not None and self.view.true_pixel else "true_pixel")
        elif key in actions:
            self._do(actions[key])
        else:
            return False
        return True

    def event(self, event: QEvent) -> bool:
        """Keys this viewport handles win over the main window's shortcuts of the same
        keys (Space, I, H, V, T, F, arrows...) while it has the focus."""
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and self._handles(event)):
            event.accept()
            return True
        return super().event(event)

    def _handles(self, event: QKeyEvent) -> bool:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False  # Ctrl+... stays the main window's
        return event.key() in _OWN_KEYS or any(
            p.shortcut and p.shortcut == event.text() for p in self.presets)

    def closeEvent(self, event: object) -> None:
        self.stop()
        super().closeEvent(event)  # type: ignore[arg-type]
