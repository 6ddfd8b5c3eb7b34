"""The first image on screen as soon as it is on disk, while the rest of the series streams in.

A retrieval (:class:`viewer.ui.retrieval.RetrieveJob`) reports the paths of the chosen
series' instances as they are stored (``arrived``, throttled). :class:`StreamingPreview`
then, for the study being retrieved:

1. reads the first instance's header in a worker (no pixel) and, on the GUI thread, runs
   the access check of an open (``access_ui.before_open``: screen fitness, acknowledgement,
   the VIEW record) — once per study: the full open that follows when the series is
   complete is told (:meth:`StreamingPreview.claim`) that the study is already recorded,
   even when another retrieval's preview has replaced this one on screen meanwhile;
2. decodes in a worker (after the window's authorizer) and shows the instances present as
   2-D images (:class:`viewer.dicom.image2d.ImageSeries` drawn by the 2-D path's
   :class:`~viewer.render.image_view.ImageView`, :class:`PreviewView`, in the active
   viewport's existing window), sorted by position
   along the slice normal, with "Loading n/N" at the bottom of the viewport; the user may
   scroll through them while more arrive (the view keeps its window, zoom and image);
3. gives the viewport back (:meth:`StreamingPreview.finish`) when the main window shows the
   assembled volume (the hanging protocol's result, as without a preview).

Everything slow runs in :class:`viewer.ui.workers.Task` workers; the GUI thread only swaps
a decoded frame in.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal

from viewer.ui.i18n import tr
from viewer.ui.workers import Task, start

log = logging.getLogger(__name__)

LOADING_ANCHOR = "bottom"  # centred at the bottom edge, above its orientation letter
DEFERRED_ANCHORS = ("top-right", "bottom-left", "bottom-right", "left", "right", "top")
UPDATE_INTERVAL = 1.5  # s between two updates of the images on screen
LOCAL_PREVIEW_MIN = 100  # instances: below, a volume on disk opens about as fast


def _position_key(position: Any, orientation: Any, number: int | None) -> tuple[int, float]:
    """Sort key along the slice normal (PS3.3 C.7.6.2.1.1), instance number without geometry."""
    try:
        ipp = [float(v) for v in position]
        iop = [float(v) for v in orientation]
    except (TypeError, ValueError):
        return 1, float(number if number is not None else 0)
    r, c = iop[:3], iop[3:6]
    normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    pos = sum(p * n for p, n in zip(ipp, normal, strict=False))
    return (0, pos) if math.isfinite(pos) else (1, 0.0)


@dataclass
class Frames:
    """The frames known so far (worker side), each with its position along the normal.

    The first file's header is read here; the others are indexed in the loader process
    (:func:`viewer.ui.loader.scan`: no GIL taken from the GUI thread) and described by the
    first one's frame (same series: size, spacing, photometry); their own headers are read
    when they are shown."""

    keyed: dict[str, tuple[tuple[int, float], list[Any]]] = field(default_factory=dict)
    template: Any = None  # ImageSeries of the first file
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, paths: list[str], cancel: threading.Event | None = None) -> None:
        """Index ``paths`` not seen yet (unreadable ones are skipped, with a log line)."""
        for path in paths:
            if path in self.keyed or (cancel is not None and cancel.is_set()):
                continue
            try:
                item = self._first(path) if self.template is None else self._other(path)
            except Exception as exc:  # one bad file must not stop the preview
                log.info("streaming preview: %s", exc)
                continue
            if item is not None:
                with self.lock:
                    self.keyed[path] = item

    def add_entry(self, entry: Any) -> None:
        """A series already indexed (on disk): positions from its index, one header read."""
        instances = list(getattr(entry, "instances", []))
        if not instances:
            return
        first = str(instances[0].path)
        self.keyed[first] = self._first(first)
        for inst in instances[1:]:
            key = _position_key(inst.image_position, inst.image_orientation,
                                inst.instance_number)
            self.keyed[str(inst.path)] = (key, [
                replace(f, path=Path(inst.path), instance_number=inst.instance_number)
                for f in self.template.frames])

    def _first(self, path: str) -> tuple[tuple[int, float], list[Any]]:
        from viewer.dicom.image2d import ImageSeries

        part = ImageSeries.from_paths([path])
        ds = part.header(0)
        self.template = part
        key = _position_key(ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient"),
                            part.frames[0].instance_number)
        return key, list(part.frames)

    def _other(self, path: str) -> tuple[tuple[int, float], list[Any]] | None:
        from viewer.ui import loader

        index = loader.scan(path)
        entry = next(iter(index.series.values()), None)
        if entry is None or not entry.instances:
            return None
        inst = entry.instances[0]
        key = _position_key(inst.image_position, inst.image_orientation, inst.instance_number)
        frames = [replace(f, path=Path(path), instance_number=inst.instance_number)
                  for f in self.template.frames]
        return key, frames

    def series(self) -> Any:
        """An ImageSeries of every frame known, sorted along the normal (then frame index)."""
        from viewer.dicom.image2d import ImageSeries

        with self.lock:
            items = sorted(self.keyed.values(), key=lambda kv: kv[0])
            frames = [f for _key, fs in items for f in fs]
        t = self.template
        return ImageSeries(t.series_uid, t.modality, frames, meta=dict(t.meta))


class PreviewView(QObject):
    """An :class:`~viewer.render.image_view.ImageView` drawn in a cell's existing
    SliceViewport: its OpenGL window is made and warm already (a new window's first frame
    costs hundreds of ms on llvmpipe). The 2-D viewport's basic handling: wheel, Up, Down,
    PageUp, PageDown, Home, End = images; right-drag = window; Ctrl+wheel = zoom.
    :meth:`close` gives the viewport back as it was."""

    def __init__(self, host: Any, series: Any, index: int) -> None:
        super().__init__(host)
        from viewer.render.image_view import ImageView

        self.host = host
        # overlay off until its texts are all known: each is rasterised once
        self.view: Any = ImageView(series, render_window=host.render_window, overlay=False,
                                   frame=index)
        self._last: Any = None
        host.prepare_frame = self.view.prepare  # the host's own scene is cleared
        host.installEventFilter(self)

    def show_overlay(self, texts: dict[str, str]) -> None:
        """The overlay on with ``texts`` (demographics, "Loading") only, drawn in a later
        event-loop turn; the image's own texts (series, size, window, edges) follow in a
        third: each turn rasterises and uploads a few texts, not all at once."""
        later = {anchor: "" for anchor in DEFERRED_ANCHORS if anchor not in texts}
        self.view.corner_text.update({**texts, **later})
        self.view.set_overlay_visible(True)
        QTimer.singleShot(1, lambda: self.alive() and self.host.request_render())

        def rest() -> None:
            if self.alive():
                for anchor in later:
                    self.view.corner_text.pop(anchor, None)
                self.view.set_overlay_visible(True)  # lays the texts out again
                self.host.request_render()

        QTimer.singleShot(50, rest)

    def alive(self) -> bool:
        import shiboken6

        return self.view is not None and shiboken6.isValid(self.host)

    @property
    def series(self) -> Any:
        return self.view.series if self.view is not None else None

    @property
    def frame(self) -> int:
        return int(self.view.index) if self.view is not None else -1

    def current_path(self) -> str:
        if self.view is None:
            return ""
        return str(self.view.series.frames[self.view.index].path)

    def set_series(self, series: Any, label: str = "") -> None:
        """More images: the same one stays on screen (window, zoom and pan kept); the
        overlay is laid out once, with ``label`` at the bottom (rasterising costs)."""
        current = self.current_path()
        index = next((n for n, f in enumerate(series.frames) if str(f.path) == current), 0)
        self.view.series = series
        if label:
            self.view.corner_text[LOADING_ANCHOR] = label
        self.view.set_frame(index)
        self.host.request_render()

    def set_frame(self, n: int) -> None:
        if self.view is not None:
            n = min(max(int(n), 0), len(self.view.series) - 1)
            if n != self.view.index:
                self.view.set_frame(n)
                self.host.request_render()

    def set_corner_text(self, corner: str, text: str) -> None:
        if self.view is not None:
            self.view.set_corner_text(corner, text)
            self.host.request_render()

    def close(self) -> None:
        import shiboken6

        view, self.view = self.view, None
        if view is None or not shiboken6.isValid(self.host):
            return
        self.host.removeEventFilter(self)
        self.host.__dict__.pop("prepare_frame", None)
        view.close()
        self.host.request_render()

    def eventFilter(self, watched: QObject, event: Any) -> bool:
        if self.view is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            self._wheel(event)
            return True
        if kind == QEvent.Type.KeyPress:
            return self._key(event.key())
        if kind == QEvent.Type.MouseButtonPress:
            self._last = event.position()
            return False  # activation, focus
        if kind == QEvent.Type.MouseMove:
            if event.buttons() & Qt.MouseButton.RightButton and self._last is not None:
                pos = event.position()
                self._window_drag(pos.x() - self._last.x(), pos.y() - self._last.y())
                self._last = pos
            return bool(event.buttons())
        return False

    def _wheel(self, event: Any) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            w, h = self.host.device_size()
            self.view.zoom_at((w / 2.0, h / 2.0), 1.1 ** steps)
            self.host.request_render()
        elif steps:
            self.set_frame(self.view.index - int(math.copysign(max(1, abs(steps)), steps)))

    def _key(self, key: int) -> bool:
        n = self.view.index
        target = {Qt.Key.Key_Up: n - 1, Qt.Key.Key_Down: n + 1, Qt.Key.Key_PageUp: n - 10,
                  Qt.Key.Key_PageDown: n + 10, Qt.Key.Key_Home: 0,
                  Qt.Key.Key_End: len(self.view.series) - 1}.get(Qt.Key(key))
        if target is None:
            return False
        self.set_frame(target)
        return True

    def _window_drag(self, dx: float, dy: float) -> None:
        """As ImageViewport: right widens the window, down raises the level."""
        if not self.view.colour:
            step = max(self.view.width / 256.0, 0.5)
            self.view.set_window(max(1.0, self.view.width + dx * step),
                                 self.view.center + dy * step)
            self.host.request_render()


@dataclass
class Preview:
    """One study being streamed into the active cell."""

    row: Any  # the browser's StudyRow (archive)
    info: dict[str, Any]  # the archive's series match of the chosen series
    paths: list[str] = field(default_factory=list)
    total: int = 0
    state: str = "checking"  # checking, granted, refused, done
    check_row: Any = None  # StudyRow of the first instance (access check, demographics)
    entry: Any = None  # its SeriesEntry
    frames: Frames = field(default_factory=Frames)
    series: Any = None  # ImageSeries on screen
    viewport: PreviewView | None = None  # where it is shown
    busy: bool = False
    recorded: bool = False  # the access check passed: the full open must not repeat it
    grant: Any = None  # what the access UI granted for it (kept until its full open)
    shown_paths: int = 0
    stopped: str = ""  # why the retrieval ended early
    local: bool = False  # a series on disk (cached, imported): only the volume is awaited
    last_shown: float = 0.0  # monotonic time of the last update on screen
    waiting: bool = False  # an update is scheduled
    cleared: bool = False  # the grid was cleared for it

    @property
    def study_uid(self) -> str:
        return str(self.row.study_uid)

    @property
    def expected(self) -> int:
        try:
            listed = int(str(self.info.get("NumberOfSeriesRelatedInstances", "") or 0))
        except ValueError:
            listed = 0
        return max(self.total, listed, len(self.paths))


class StreamingPreview(QObject):
    """The main window's streaming preview of a retrieval (see the module docstring)."""

    shown = Signal(int, int)  # instances on screen, instances expected
    refused = Signal(str)  # study UID: the access check said no

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.preview: Preview | None = None
        # per study, until its full open claims it: the preview that checked it (recorded
        # or refused), even when another retrieval's preview has replaced it on screen since
        self.checked: dict[str, Preview] = {}
        self.loading_text = ""  # the last "Loading n/N" shown
        self.tasks: set[Task] = set()
        window.browser.arriving.connect(self.arrived)
        window.browser.retrieval_started.connect(self.watch)
        window.load_failed.connect(self._load_failed)

    # ------------------------------------------------------------ retrieval side
    def watch(self, job: Any) -> None:
        uid = job.study_uid
        job.signals.cancelled.connect(lambda: self.stop(uid, tr("retrieval cancelled")))
        job.signals.failed.connect(lambda _m: self.stop(uid, tr("retrieval failed")))

    def arrived(self, row: Any, info: dict[str, Any], paths: list[str], total: int) -> None:
        """More instances of the chosen series of ``row`` are on disk."""
        p = self.preview
        if p is None or p.study_uid != row.study_uid or p.state == "done":
            if p is not None and p.study_uid == row.study_uid:
                return  # its full open is under way or done
            self.finish()  # another study's preview: the latest retrieval is shown
            before = self.checked.get(row.study_uid)
            if before is not None and before.state == "refused":
                return  # declined: its full open says so
            p = self.preview = Preview(row, dict(info or {}))
            if before is not None:  # checked already: shown again, not asked again
                p.state, p.recorded, p.grant = "granted", True, before.grant
                p.check_row, p.entry = before.check_row, before.entry
                p.paths = list(before.paths)
                self.checked[row.study_uid] = p
                self._regrant(p)
            else:
                self._run(lambda progress, cancel: self._read_first(paths[0], row),
                          lambda result, p=p: self._checked(p, result))
        p.paths.extend(str(x) for x in paths)
        p.total = max(p.total, int(total))
        self._update(p)

    def stop(self, study_uid: str, why: str) -> None:
        self.checked.pop(study_uid, None)  # no full open will claim it
        p = self.preview
        if p is not None and p.study_uid == study_uid and p.state != "done":
            p.stopped = why
            self._label(p)

    # ------------------------------------------------------------ access, then pixels
    @staticmethod
    def _read_first(path: str, row: Any) -> tuple[Any, Any]:
        """Header only: the study row and series entry the access check needs (and the
        modules the display needs, imported here rather than on the GUI thread)."""
        import viewer.dicom.image2d
        import viewer.render.image_view
        import viewer.ui.image_viewport  # noqa: F401
        from viewer.dicom.index import scan
        from viewer.ui.browser_query import rows_from_index

        rows = rows_from_index(scan(path), row.source)
        if not rows or not rows[0].series:
            raise ValueError(tr("No images found in {path}").format(path=path))
        local = rows[0]
        # the patient as the file names them, the archive as the browser lists it
        return replace(local, source=row.source), local.series[0]

    def _checked(self, p: Preview, result: tuple[Any, Any]) -> None:
        if self.preview is not p or p.state != "checking":
            return  # superseded: the full open made the check itself
        p.check_row, p.entry = result
        ui = getattr(self.window, "access_ui", None)
        self.checked[p.study_uid] = p
        if ui is not None and not ui.before_open([(p.check_row, p.entry)]):
            p.state = "refused"
            self.refused.emit(p.study_uid)
            return
        p.state, p.recorded = "granted", True
        p.grant = ui.grant_of(p.study_uid) if ui is not None else None
        self._update(p)

    def _update(self, p: Preview) -> None:
        """Read and decode what arrived since the last update, one worker at a time, at
        most every UPDATE_INTERVAL (each costs the GUI thread a frame and new texts)."""
        if p.state != "granted" or p.busy or len(p.paths) <= p.shown_paths:
            return
        wait = p.last_shown + UPDATE_INTERVAL - time.monotonic()
        if p.series is not None and wait > 0:
            if not p.waiting:
                p.waiting = True
                QTimer.singleShot(int(wait * 1000) + 1, lambda: self._waited(p))
            return
        p.busy = True
        paths = list(p.paths)
        first_time = p.series is None
        current = p.viewport.current_path() if p.viewport is not None else ""
        authorizer = self.window.authorizer

        def work(progress: Any, cancel: threading.Event) -> tuple[Any, int, int]:
            if first_time:  # raises when refused: nothing is decoded
                authorizer(p.check_row, [p.entry])
            p.frames.add(paths, cancel)
            if p.frames.template is None:
                raise ValueError(tr("No image could be assembled"))
            series = p.frames.series()
            if not series.frames:
                raise ValueError(tr("No image could be assembled"))
            index = next((n for n, f in enumerate(series.frames)
                          if str(f.path) == current), 0) if current else 0
            if first_time:  # the first image that arrived, wherever it sorts
                index = next((n for n, f in enumerate(series.frames)
                              if str(f.path) == paths[0]), 0)
            for n in {0, index}:  # decoded here, not on the GUI thread
                series.values(n)
            return series, index, len(paths)

        self._run(work, lambda result, p=p: self._decoded(p, *result),
                  lambda _m, p=p: self._failed(p))

    def open_local(self, items: list[Any]) -> None:
        """An open of series already on disk, its access check made (``before_open``):
        a large volume's middle image first, while the volume is assembled."""
        if getattr(self.window, "access_ui", None) is None:
            return  # the window's authorizer records in the assembling worker: wait for it
        row, entry = next((i for i in items if i is not None), (None, None))
        instances = getattr(entry, "instances", None) or []
        if len(instances) < LOCAL_PREVIEW_MIN or instances[0].image_position is None:
            return  # small: the volume itself comes about as fast
        p = self.preview = Preview(row, {}, state="granted", recorded=True, check_row=row,
                                   entry=entry, local=True, total=len(instances))
        p.busy = True
        authorizer = self.window.authorizer

        def work(progress: Any, cancel: threading.Event) -> tuple[Any, int, int]:
            authorizer(row, [entry])  # checks that the open recorded it: never decodes before
            p.frames.add_entry(entry)
            series = p.frames.series()
            index = len(series.frames) // 2  # where the volume will open (IHE BIR)
            for n in {0, index}:
                series.values(n)
            return series, index, len(series.frames)

        self._run(work, lambda result, p=p: self._decoded(p, *result),
                  lambda _m, p=p: self._failed(p))

    def _load_failed(self, _message: str) -> None:
        # an open that failed may never claim its check: a later open checks again (a
        # second record rather than an open without one)
        self.checked.clear()
        if self.preview is not None and self.preview.local:
            self.finish()  # its volume will not come

    def _waited(self, p: Preview) -> None:
        p.waiting = False
        self._update(p)

    def _failed(self, p: Preview) -> None:
        p.busy = False
        if p.series is None:  # nothing shown: the full open will show the series
            p.state = "done"

    def _decoded(self, p: Preview, series: Any, index: int, count: int) -> None:
        p.busy = False
        if self.preview is not p or p.state != "granted":
            return
        grid = self.window.grid
        if grid is None:
            return
        p.shown_paths = count
        if p.viewport is None and not p.cleared:
            # the previous study's views go in this turn, the preview is built in the next
            p.cleared, p.busy = True, True
            self._clear_grid(grid)
            QTimer.singleShot(1, lambda: self._decoded(p, series, index, count))
            return
        p.last_shown = time.monotonic()
        if p.viewport is None:
            p.series = series
            p.viewport = self._show_first(p, grid, series, index)
        elif p.viewport.alive():
            p.series = series
            p.viewport.set_series(series, self._label_text(p))
        else:
            p.state = "done"  # its viewport went (a layout change): stop following
            return
        self.shown.emit(len(series.frames), p.expected)
        self._update(p)

    @staticmethod
    def _clear_grid(grid: Any) -> None:
        """Nothing of the previous study beside the new one's first image."""
        for n, vp in enumerate(grid.viewports):
            other = grid.images.get(n)
            if other is not None and grid.cells[n].child is other:
                other.clear()
                grid.cells[n].show_child(vp)
            if vp.view is not None:
                vp.clear()
        view3d = grid.view3d
        if view3d is not None and view3d.scene is not None:
            view3d.render_window.RemoveRenderer(view3d.scene.renderer)
            view3d.scene = None
            view3d.request_render()

    def _show_first(self, p: Preview, grid: Any, series: Any, index: int) -> PreviewView:
        from viewer.ui.image_viewport import demographics_text
        from viewer.ui.main_window import demographics_of

        active = grid.active if grid.active in grid.viewports else grid.viewports[0]
        if active.view is not None:  # something was shown there in between
            active.clear()
        view = p.viewport = PreviewView(active, series, index)
        view.show_overlay({"top-left": demographics_text(demographics_of(p.check_row, p.entry)),
                           LOADING_ANCHOR: self._label_text(p)})
        return view

    def _label_text(self, p: Preview) -> str:
        """"Loading n/N" above the bottom edge's orientation letter (kept visible)."""
        n, total = len(p.series.frames) if p.series is not None else 0, p.expected
        text = tr("Loading {n}/{total}").format(n=n, total=total)
        if p.local:
            text = tr("Loading the volume...")
        elif p.stopped:
            text = tr("{n}/{total} images ({why})").format(n=n, total=total, why=p.stopped)
        self.loading_text = text
        view = p.viewport
        letter = view.view.edge_labels().get(LOADING_ANCHOR, "") if view is not None else ""
        return f"{text}\n{letter}" if letter else text

    def _label(self, p: Preview) -> None:
        view = p.viewport
        if view is not None and view.alive():
            view.set_corner_text(LOADING_ANCHOR, self._label_text(p))

    # ------------------------------------------------------------ the full open
    def claim(self, items: list[Any]) -> set[str] | None:
        """Called by an open: the studies of ``items`` a preview already checked and
        recorded (their check must not run again), or None when the user declined one.

        Kept per study, so a retrieval's open is told even when a later retrieval's preview
        replaced its own. An open of other studies ends the preview shown; an open of the
        study whose check is still under way makes that check its own (the preview then
        does nothing)."""
        uids = {item[0].study_uid for item in items if item is not None}
        p = self.preview
        if p is not None and p.state != "done" and p.study_uid not in uids:
            self.finish()  # another study opens: its images replace the preview
        elif p is not None and p.state == "checking":
            p.state = "done"  # its check is not made yet: the open makes it
        previews = [self.checked.pop(uid) for uid in uids if uid in self.checked]
        if any(q.state == "refused" for q in previews):
            if p is not None and p.state == "refused":
                self.preview = None  # declined once for this open; a later open asks again
            return None
        for q in previews:
            self._regrant(q)
        return {q.study_uid for q in previews if q.recorded}

    def _regrant(self, p: Preview) -> None:
        """The access UI's grant of a recorded preview's study, back for its decoding (the
        UI hands its grants to the screen-fitness watch whenever any open is shown)."""
        ui = getattr(self.window, "access_ui", None)
        if ui is not None and p.recorded and p.grant is not None:
            ui.regrant(p.study_uid, p.grant)

    def finish(self) -> None:
        """The full open shows its images: give the preview's cell back to its viewport."""
        p, self.preview = self.preview, None
        if p is None:
            return
        p.state = "done"
        if p.viewport is not None:
            p.viewport.close()

    # ------------------------------------------------------------ workers
    def _run(self, work: Any, done: Any, failed: Any = None) -> Task:
        task = Task(work)
        self.tasks.add(task)
        task.signals.finished.connect(done)
        task.signals.failed.connect(failed or (lambda m: log.info("streaming preview: %s", m)))
        if failed is not None:
            task.signals.failed.connect(lambda m: log.info("streaming preview: %s", m))
        for sig in (task.signals.finished, task.signals.failed, task.signals.cancelled):
            sig.connect(lambda *_a, t=task: self.tasks.discard(t))
        return start(task)

