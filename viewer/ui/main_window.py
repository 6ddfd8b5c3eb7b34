"""The main window: study browser, viewport grid, toolbar, shortcuts, status bar.

Shown before VTK is imported (cold start: the window appears in well under a
second, PLATFORM.md measured 3.3 s for ``import PySide6.QtWidgets, vtk``):
the grid (which imports VTK) is built by :meth:`MainWindow.load_viewers` on
the first event-loop turn after ``show()``.

Opening images: an import (folder, DICOMDIR, drop) is scanned by a worker;
the study's series are then assembled by a worker *after* the access gate
has authorised and recorded the viewing (ARCHITECTURE.md: pixels never reach
a screen before that), and shown by the default hanging (first series in the
active viewport, the next ones in the following cells; MPR: first series).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolBar,
)

from viewer.config import regard_home
from viewer.ui.browser import StudyBrowser, StudyRow, rows_from_index
from viewer.ui.i18n import N_, tr
from viewer.ui.models import LAYOUTS, Demographics, WindowPreset, load_presets
from viewer.ui.workers import Task, start

log = logging.getLogger(__name__)

RECENT_MAX = 10
TOOL_NAMES = {"scroll": N_("Scroll"), "window": N_("Window/level"), "zoom": N_("Zoom"),
              "pan": N_("Pan"), "distance": N_("Distance"), "crosshair": N_("Crosshair")}
# shortcuts close to what radiologists know (Horos/OsiriX, Weasis, Synapse)
TOOL_KEYS = {"scroll": "S", "window": "W", "zoom": "Z", "pan": "P", "distance": "M",
             "crosshair": "C"}
LAYOUT_KEYS = {"1x1": "Ctrl+1", "1x2": "Ctrl+2", "2x2": "Ctrl+4", "mpr": "Ctrl+M"}
# hanging-protocol stages: N steps on, Shift+N back (PageUp/Down scroll the stack)
STAGE_KEYS = {"next": "N", "previous": "Shift+N"}

Authorizer = Callable[[StudyRow, list[Any]], None]


def gate_authorizer(row: StudyRow, series: list[Any]) -> None:
    """Ask the access gate to authorise and record the viewing (raises when refused)."""
    from viewer.access.gate import AccessGate, Action
    from viewer.access.patient import PatientRef

    patient = row.patient
    ref = PatientRef(
        id=getattr(patient, "patient_id", "") or row.patient_id,
        issuer=getattr(patient, "issuer", ""),
        ins=getattr(patient, "ins", "") or row.ins,
        ins_oid=getattr(patient, "ins_oid", ""),
    )
    AccessGate().authorize_and_record(
        Action.VIEW, patient=ref, study_uids=[row.study_uid],
        series_uids=[getattr(s, "series_uid", "") for s in series], archive=row.source,
    )


def recent_file() -> Path:
    return regard_home() / "recent.json"


def load_recent() -> list[str]:
    try:
        data = json.loads(recent_file().read_text(encoding="utf-8"))
        return [str(p) for p in data if isinstance(p, str)][:RECENT_MAX]
    except (OSError, ValueError):
        return []


def add_recent(path: str) -> list[str]:
    items = [path] + [p for p in load_recent() if p != path]
    items = items[:RECENT_MAX]
    try:
        recent_file().parent.mkdir(parents=True, exist_ok=True)
        recent_file().write_text(json.dumps(items, indent=1), encoding="utf-8")
    except OSError as exc:
        log.warning("cannot save the recent list: %s", exc)
    return items


def demographics_of(row: StudyRow, series: Any) -> Demographics:
    p = row.patient
    return Demographics(
        patient_name=row.patient_name, patient_id=row.patient_id, ins=row.ins,
        ins_status=getattr(p, "ins_kind", ""), birth_date=row.birth_date,
        sex=getattr(p, "sex", ""), study_date=row.study_date,
        study_description=row.description,
        series_description=getattr(series, "description", ""),
        series_number=str(getattr(series, "number", "") or ""),
    )


def _series_key(series: Any) -> tuple[str, frozenset[str]]:
    """A series entry (or one image of it) as the files it is made of."""
    return (str(getattr(series, "series_uid", "")),
            frozenset(str(i.path) for i in getattr(series, "instances", [])))


def _shown_key(content: Any) -> tuple[str, frozenset[str]]:
    """A shown Volume or ImageSeries as the files it was made of (:func:`_series_key`)."""
    frames = getattr(content, "frames", None)
    files = [f.path for f in frames] if frames is not None else getattr(
        content, "source_files", [])
    return (str(getattr(content, "series_uid", "")), frozenset(str(f) for f in files))


class MainWindow(QMainWindow):
    """Regard's main window (see module docstring)."""

    viewers_ready = Signal()
    images_shown = Signal()
    load_failed = Signal(str)

    def __init__(self, authorizer: Authorizer | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Regard")
        self.resize(QSize(1600, 1000))
        self.setAcceptDrops(True)
        self.authorizer = authorizer or gate_authorizer
        self.access_ui: Any = None  # viewer.ui.access_ui.AccessUI, installed after show()
        self._wants_access_ui = authorizer is None
        self.hanging_rule: Any = None
        self.forced_layout = ""  # `regard view --layout`: overrides the hanging protocol
        self.grid: Any = None  # ViewportGrid, once VTK is loaded
        self.tasks: set[Task] = set()
        self._pending: list[Callable[[], None]] = []
        try:
            self.presets = load_presets()
        except ValueError as exc:
            log.warning("%s", exc)
            self.presets = {}
        self._placeholder = QLabel(tr("Loading the viewer..."))
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("background: #101010; color: #a0a0a0;")
        self.setCentralWidget(self._placeholder)
        self.browser = StudyBrowser()
        self.browser.open_series.connect(self.open_study)
        self.browser.import_requested.connect(self.import_folder)
        self.browser.retrieved.connect(self.open_retrieved)
        from viewer.ui.streaming import StreamingPreview

        self.streaming = StreamingPreview(self)  # a retrieval's first image at once
        dock = QDockWidget(tr("Studies"), self)
        dock.setObjectName("studies")
        dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.browser_dock = dock
        self._build_actions()
        self._build_status_bar()

    # ------------------------------------------------------------- actions
    def _action(self, text: str, slot: Callable[[], Any], key: str = "",
                checkable: bool = False) -> QAction:
        act = QAction(tr(text), self)
        if key:
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setCheckable(checkable)
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        bar = QToolBar(tr("Tools"), self)
        bar.setObjectName("tools")
        self.addToolBar(bar)
        self.toolbar = bar
        file_menu = self.menuBar().addMenu(tr("&File"))
        file_menu.addAction(self._action(N_("Open folder..."), self.import_folder, "Ctrl+O"))
        file_menu.addAction(self._action(N_("Open DICOMDIR..."), self.import_dicomdir, "Ctrl+D"))
        self.recent_menu = QMenu(tr("Recent"), self)
        file_menu.addMenu(self.recent_menu)
        self._refresh_recent()
        file_menu.addSeparator()
        file_menu.addAction(self._action(N_("Quit"), self.close, "Ctrl+Q"))

        view_menu = self.menuBar().addMenu(tr("&View"))
        self.layout_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for name in LAYOUTS:
            label = "MPR" if name == "mpr" else name
            act = self._action(tr("Layout {name}").format(name=label),
                               lambda n=name: self.set_layout(n),
                               LAYOUT_KEYS[name], checkable=True)
            group.addAction(act)
            view_menu.addAction(act)
            bar.addAction(act)
            self.layout_actions[name] = act
        self.layout_actions["1x1"].setChecked(True)
        self._build_stage_actions(view_menu)
        bar.addSeparator()

        tools_menu = self.menuBar().addMenu(tr("&Tools"))
        self.tool_actions: dict[str, QAction] = {}
        tgroup = QActionGroup(self)
        for tool, label in TOOL_NAMES.items():
            act = self._action(label, lambda t=tool: self.set_tool(t), TOOL_KEYS[tool],
                               checkable=True)
            tgroup.addAction(act)
            tools_menu.addAction(act)
            bar.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions["scroll"].setChecked(True)
        bar.addSeparator()
        self.preset_menu = QMenu(tr("Window presets"), self)
        preset_button = QPushButton(tr("Presets"))
        preset_button.setMenu(self.preset_menu)
        bar.addWidget(preset_button)
        for preset in self.presets.get("CT", []):
            act = self._action(preset.name, lambda p=preset: self.apply_preset(p),
                               preset.shortcut)
            self.preset_menu.addAction(act)
        view_menu.addMenu(self.preset_menu)
        self.cine_timer = QTimer(self)
        self.cine_timer.setInterval(1000 // 15)
        self.cine_timer.timeout.connect(lambda: self._each_model(lambda m: m.cine_step()))
        for text, slot, key in (
            (N_("Cine"), self.toggle_cine, "Space"),
            (N_("Synchronised scrolling"), self.toggle_sync, "Y"),
            (N_("Reference lines"), self.toggle_reference_lines, "L"),
            (N_("Invert"), self.toggle_invert, "I"),
            (N_("Rotate 90 degrees"), lambda: self._each_model(lambda m: m.rotate_quarter(1)),
             "Ctrl+R"),
            (N_("Flip horizontally"), lambda: self._each_model(lambda m: m.flip(True)), "H"),
            (N_("Flip vertically"), lambda: self._each_model(lambda m: m.flip(False)), "V"),
            (N_("Fit to window"), self.fit, "F"),
            (N_("True size 1:1"), self.true_size, "T"),
            (N_("Clear measurements"), self.clear_measurements, "Delete"),
            (N_("Next image"), lambda: self.scroll(1), "Down"),
            (N_("Previous image"), lambda: self.scroll(-1), "Up"),
        ):
            act = self._action(text, slot, key)
            tools_menu.addAction(act)
            if text in (N_("Invert"), "Fit to window", "True size 1:1"):
                bar.addAction(act)
        bar.addSeparator()
        from viewer.ui.windows import SlabControls

        self.slab = SlabControls(bar, lambda: self.grid, self)  # thick slab: combo, mm, B
        from viewer.ui.windows import WindowMenu

        self.window_menu = WindowMenu(self, lambda: self.grid)  # new window on screen N

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.cursor_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_tasks)
        self.user_label = QLabel("")
        sb.addWidget(self.cursor_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.user_label)
        QTimer.singleShot(0, self._show_user)
        QTimer.singleShot(0, self._warm_up_loader)

    def _warm_up_loader(self) -> None:
        from viewer.ui import loader

        loader.warm_up()
        # Modules the first opening needs, imported now rather than while the user waits.
        import numpy.ma  # noqa: F401  (VTK's numpy support on first volume)

        import viewer.hanging  # noqa: F401

    def _show_user(self) -> None:
        """The logged-in user's name in the status bar (viewer.access identity)."""
        try:
            from viewer.access.gate import AccessGate

            user = AccessGate(forward=False).current_user()
            self.user_label.setText(tr("User: {name}").format(name=user.display_name))
        except Exception as exc:  # no identity yet: say so, the gate will refuse later
            log.debug("no current user: %s", exc)
            self.user_label.setText(tr("No user logged in"))

    def _refresh_recent(self, items: list[str] | None = None) -> None:
        self.recent_menu.clear()
        for path in items if items is not None else load_recent():
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _c=False, p=path: self.open_path(p))

    # -------------------------------------------------------------- viewers
    def install_access(self) -> None:
        """Login badge, Access menu, screen fitness and the VIEW record before decoding
        (viewer.ui.access_ui); without it the worker-thread gate authorizer still records."""
        if self.access_ui is not None or not self._wants_access_ui:
            return
        try:
            from viewer.ui.access_ui import install

            install(self)
        except Exception:  # the gate authorizer still refuses unrecorded viewing
            log.exception("the access interface could not be installed")

    def load_viewers(self) -> None:
        """Import VTK and build the viewport grid (after the window is visible)."""
        self.install_access()
        if self.grid is not None:
            return
        t0 = time.perf_counter()
        try:
            from viewer.ui.grid import ViewportGrid

            self.grid = ViewportGrid()
        except Exception as exc:  # e.g. OpenGL libraries missing: say so, do not hang
            log.exception("the viewers could not be created")
            self._fail(tr("The images could not be shown: {error}").format(error=exc))
            return
        self.grid.cursor_moved.connect(self._cursor_moved)
        self.grid.active_changed.connect(self._active_changed)
        self.setCentralWidget(self.grid)
        # The heaviest layout's OpenGL windows (tens of ms each) are made now, while the
        # user looks at the browser, not in the turn that opens a CT in MPR.
        self.grid.set_layout("mpr")
        from viewer.ui.extra_tools import install as install_extra_tools

        install_extra_tools(self)  # angle, elliptical ROI, curved MPR (Tools menu)
        self._placeholder = None
        log.debug("viewers loaded in %.2f s", time.perf_counter() - t0)
        self.viewers_ready.emit()
        pending, self._pending = self._pending, []
        for action in pending:
            action()

    def _when_viewers(self, action: Callable[[], None]) -> None:
        if self.grid is None:
            self._pending.append(action)
        else:
            action()

    def set_layout(self, name: str) -> None:
        if name in self.layout_actions:
            self.layout_actions[name].setChecked(True)
        self._when_viewers(lambda: self.grid.set_layout(name))

    def active_model(self) -> Any:
        if self.grid is None or self.grid.active is None:
            return None
        return self.grid.active.model

    def set_tool(self, tool: str) -> None:
        if tool in self.tool_actions:
            self.tool_actions[tool].setChecked(True)
        if self.grid is not None:
            for vp in self.grid.viewports:
                vp.model.set_tool(tool)

    def apply_preset(self, preset: WindowPreset) -> None:
        """Apply a window preset if it belongs to the active image's modality (HU for CT)."""
        m = self.active_model()
        if m is not None and m.volume is not None:
            if preset not in self.presets.get(m.volume.modality.upper(), []):
                self.statusBar().showMessage(
                    tr("No {preset} preset for {modality} images").format(
                        preset=tr(preset.name), modality=m.volume.modality or "?"), 5000)
                return
            m.apply_preset(preset)
            if self.grid.layout_name == "mpr":
                for vp in self.grid.viewports:
                    vp.model.apply_preset(preset)

    def _each_model(self, func: Callable[[Any], None]) -> None:
        m = self.active_model()
        if m is not None and m.volume is not None:
            func(m)

    def toggle_cine(self) -> None:
        """Cine loop of the active viewport at 15 images/s."""
        if self.cine_timer.isActive():
            self.cine_timer.stop()
        else:
            self.cine_timer.start()

    def toggle_sync(self) -> None:
        if self.grid is not None:
            self.grid.set_sync(not self.grid.sync_on)
            self.statusBar().showMessage(
                tr("Synchronised scrolling on") if self.grid.sync_on
                else tr("Synchronised scrolling off"), 3000)

    def toggle_reference_lines(self) -> None:
        if self.grid is not None:
            self.grid.reference_lines = not self.grid.reference_lines
            self.grid.update_reference_lines()

    def toggle_invert(self) -> None:
        self._each_model(lambda m: m.set_invert(not m.invert))

    def fit(self) -> None:
        self._each_model(lambda m: m.fit())

    def true_size(self) -> None:
        self._each_model(lambda m: m.set_true_size(not m.true_size))

    def clear_measurements(self) -> None:
        self._each_model(lambda m: m.clear_measurements())

    def scroll(self, steps: int) -> None:
        self._each_model(lambda m: m.scroll(steps))

    def _cursor_moved(self, lps: Any, value: Any) -> None:
        x, y, z = (float(c) for c in lps)
        text = tr("LPS {x:.1f}, {y:.1f}, {z:.1f} mm").format(x=x, y=y, z=z)
        if value is not None:
            text += "   " + tr("Value {v:g}").format(v=value)
        self.cursor_label.setText(text)

    def _active_changed(self, vp: Any) -> None:
        tool = vp.model.tool
        if tool in self.tool_actions:
            self.tool_actions[tool].setChecked(True)

    # --------------------------------------------------------------- import
    def import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, tr("Open a folder of DICOM files"))
        if path:
            self.open_path(path)

    def import_dicomdir(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Open a DICOMDIR"), "",
                                              "DICOMDIR (DICOMDIR dicomdir);;* (*)")
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
        event.acceptProposedAction()

    def open_path(self, path: str | Path, open_first: bool = True) -> Task:
        """Scan a file, folder or DICOMDIR in a worker; list its studies; open the first."""
        path = str(path)
        self._refresh_recent(add_recent(path))

        def scan(progress: Callable[[int, int], None], cancel: threading.Event) -> Any:
            from viewer.ui import loader

            return loader.scan(path, cancel=cancel)  # in the loader process (no GIL contest)

        task = Task(scan)
        task.signals.finished.connect(lambda index: self._scanned(index, path, open_first))
        return self._run(task, tr("Reading {path}").format(path=Path(path).name))

    def open_retrieved(self, folder: str, open_it: bool = True) -> Task:
        """A series or study retrieved into the cache: list it, and open it if asked."""

        def scan(progress: Callable[[int, int], None], cancel: threading.Event) -> Any:
            from viewer.ui import loader

            return loader.scan(folder, cancel=cancel)

        task = Task(scan)
        task.signals.finished.connect(lambda index: self._scanned(index, folder, open_it))
        return self._run(task, tr("Reading {path}").format(path=Path(folder).name))

    def _scanned(self, index: Any, path: str, open_first: bool) -> None:
        rows = rows_from_index(index, tr("Local"))
        for message in index.errors[:5]:
            log.info("import: %s", message)
        if not rows:
            self._fail(tr("No images found in {path}").format(path=path))
            return
        self.browser.add_rows(rows)
        if open_first:
            rows.sort(key=lambda r: r.study_date, reverse=True)  # the newest is the current
            self.open_hung(rows[0])

    def priors_of(self, row: StudyRow) -> list[StudyRow]:
        """The same patient's older studies the browser knows, newest first."""
        same = [r for r in self.browser.rows if r.patient_id == row.patient_id
                and r.study_uid != row.study_uid and r.study_date < row.study_date]
        return sorted(same, key=lambda r: r.study_date, reverse=True)

    def open_hung(self, row: StudyRow) -> Task | None:
        """Open a study with the hanging protocol that matches it (``viewer.hanging``).

        The protocol's first stage, or with priors present the first stage showing one
        (study and prior side by side); its cells' flips (mammography back to back) are
        applied through the viewport models once the images are shown.
        """
        import copy

        from viewer import hanging

        # only priors on this machine can fill a cell (an archive's is not retrieved yet)
        priors = [p for p in self.priors_of(row) if p.cached]

        def info(r: StudyRow) -> hanging.StudyInfo:
            sets = hanging.display_sets_from_series(r.series)
            return hanging.StudyInfo(r.study_uid, r.study_date, "", tuple(sets))

        try:
            stages = hanging.hang(info(row), [info(p) for p in priors])
        except (OSError, ValueError) as exc:  # HangingError names the file and protocol
            self._fail(str(exc))
            return None
        stage = self._pick_stage(row, stages, bool(priors))
        log.debug("hanging protocol: %s, stage %s", stage.protocol, stage.stage)
        self.hanging_rule = stage
        cells = list(stage.cells)
        while cells and cells[-1].display_set is None:  # nothing for the last cells
            cells.pop()
        layout = stage.layout
        if layout not in LAYOUTS or (layout != "mpr" and len(cells) < len(stage.cells)):
            layout = {0: "1x1", 1: "1x1", 2: "1x2"}.get(len(cells), "2x2")
        if self.forced_layout:
            layout = self.forced_layout
        self.set_layout(layout)
        items: list[tuple[StudyRow, Any] | None] = []
        for cell in cells:
            d = cell.display_set
            owner = next((r for r in [row, *priors] if r.study_uid == d.study_uid), row) \
                if d is not None else row
            series = next((s for s in owner.series if d is not None
                           and getattr(s, "series_uid", None) == d.series_uid), None)
            if series is not None and d is not None and d.sop_instance_uid:
                series = copy.copy(series)  # one image of a projection series: its own view
                series.instances = [i for i in series.instances
                                    if i.sop_instance_uid == d.sop_instance_uid]
            items.append(None if series is None else (owner, series))
        if layout == "mpr":
            items = items[:1]
        flips = [(c.flip_horizontal, c.flip_vertical) for c in cells]
        if layout != "mpr" and any(h or v for h, v in flips):
            def apply_flips() -> None:
                self.images_shown.disconnect(apply_flips)
                for vp, (h, v) in zip(self.grid.viewports, flips, strict=False):
                    if vp.model.flip_h != h:
                        vp.model.flip(horizontal=True)
                    if vp.model.flip_v != v:
                        vp.model.flip(horizontal=False)

            self.images_shown.connect(apply_flips)
        return self._open_stage_items(items)

    # ------------------------------------------------------- hanging stages
    hanging_stages: Any = None  # (StudyRow, [hanging.Hanging], index shown) of the last hung
    _stage_request: tuple[str, str] | None = None  # (protocol, stage) asked for by N/Shift+N
    hanging_editor: Any = None

    def _build_stage_actions(self, menu: QMenu) -> None:
        sub = menu.addMenu(tr("Hanging protocol"))
        self.stage_actions = {
            "next": self._action(N_("Next stage"), lambda: self.show_stage(1),
                                 STAGE_KEYS["next"]),
            "previous": self._action(N_("Previous stage"), lambda: self.show_stage(-1),
                                     STAGE_KEYS["previous"]),
            "edit": self._action(N_("Edit hanging protocols..."), self.edit_hanging_protocols),
        }
        for act in self.stage_actions.values():
            sub.addAction(act)

    _stage_cache: dict[tuple[str, frozenset[str]], tuple[Any, Any]] = {}  # noqa: RUF012

    def _open_stage_items(self, items: list[tuple[StudyRow, Any] | None]) -> Task | None:
        """Show a hanging's items from its first cell on. The series this study's stages
        showed already (N / Shift+N) are shown again at once: nothing new is decoded, so
        nothing new is viewed (the access check and VIEW record were made when they were
        opened, for the user still reading them); the others go through
        :meth:`open_items` (check, record, assemble)."""
        if self.grid is not None and self.grid.viewports:
            self.grid.set_active(self.grid.viewports[0])  # cell 1 first, not the clicked one
        reuse = [None if i is None or not self._still_viewed(i[0])
                 else self._stage_cache.get(_series_key(i[1])) for i in items]
        if any(items) and all(r is not None for r, i in zip(reuse, items, strict=True) if i):
            log.debug("hanging stage: %d series shown again without decoding", len(items))
            self._keep_watched(items, reuse)
            # next turn, as after an assembly: the layout's old cells are gone by then
            QTimer.singleShot(0, lambda: self._when_viewers(lambda: self._show(reuse)))
            return None
        return self.open_items(items, shown=reuse)

    def _still_viewed(self, row: StudyRow) -> bool:
        """The study's VIEW is recorded for the one reading now (not for a previous user)."""
        return self.access_ui is None or row.study_uid in self.access_ui.opened

    def _keep_watched(self, items: list[Any], shown: list[Any]) -> None:
        """Studies shown again without a new check stay under the screen-fitness watch
        (the access UI watches what the last open granted)."""
        ui = self.access_ui
        if ui is None:
            return
        for item, again in zip(items, shown, strict=True):
            uid = item[0].study_uid if item is not None and again is not None else None
            if uid in ui.opened:
                ui.regrant(uid, ui.opened[uid])

    def _remember_shown(self, row: StudyRow) -> None:
        """Keep what the grid shows for the next stage of the same study (dropped when
        another study is hung)."""
        previous = self.hanging_stages
        if previous is None or previous[0].study_uid != row.study_uid:
            self._stage_cache = {}
            return
        grid = self.grid
        if grid is None:
            return
        cache = dict(self._stage_cache)
        for n, vp in enumerate(grid.viewports):
            ivp = grid.images.get(n)
            if ivp is not None and ivp.series is not None and grid.cells[n].child is ivp:
                shown = (ivp.series, ivp.demographics)
            elif vp.model.volume is not None:
                shown = (vp.model.volume, vp.model.demographics)
            else:
                continue
            cache[_shown_key(shown[0])] = shown
        self._stage_cache = cache

    def _pick_stage(self, row: StudyRow, stages: list[Any], with_priors: bool) -> Any:
        """The stage a study opens in: the one asked for by :meth:`show_stage`, else the
        first, or with priors the first showing one (study and prior side by side)."""
        wanted, self._stage_request = self._stage_request, None
        self._remember_shown(row)
        keys = [(h.protocol, h.stage) for h in stages]
        if wanted in keys:
            index = keys.index(wanted)
        elif with_priors:
            index = next((n for n, h in enumerate(stages)
                          if any(c.prior and c.display_set for c in h.cells)), 0)
        else:
            index = 0
        self.hanging_stages = (row, stages, index)
        stage = stages[index]
        text = tr("Hanging protocol {protocol}, stage {n}/{total}: {stage}")
        self.statusBar().showMessage(text.format(protocol=stage.protocol, n=index + 1,
                                                 total=len(stages), stage=stage.stage), 5000)
        return stage

    def show_stage(self, step: int) -> Task | None:
        """Hang the current study again with the next (``step`` 1) or previous (-1) stage of
        its protocol (wrapping round); the layout and the cells follow the stage."""
        if self.hanging_stages is None:
            self.statusBar().showMessage(tr("No study hung by a hanging protocol"), 5000)
            return None
        row, stages, index = self.hanging_stages
        if len(stages) < 2:
            self.statusBar().showMessage(tr("This hanging protocol has a single stage"), 5000)
            return None
        target = stages[(index + step) % len(stages)]
        self._stage_request = (target.protocol, target.stage)
        self.forced_layout = ""  # the stage's layout, not `regard view --layout`'s
        return self.open_hung(row)

    def edit_hanging_protocols(self) -> Any:
        """The hanging-protocol editor (viewer.ui.hanging_editor); a save hangs the current
        study again with the saved protocols."""
        from viewer.ui.hanging_editor import HangingEditor

        if self.hanging_editor is None:
            self.hanging_editor = HangingEditor(self)
            self.hanging_editor.saved.connect(lambda _name: self._rehang())
        self.hanging_editor.show()
        self.hanging_editor.raise_()
        return self.hanging_editor

    def _rehang(self) -> None:
        if self.hanging_stages is not None:
            self._stage_request = None
            self.open_hung(self.hanging_stages[0])

    def open_study(self, row: StudyRow, series: list[Any]) -> Task | None:
        """Open ``series`` of ``row`` from the active viewport on (browser double-click)."""
        return self.open_items([(row, s) for s in series])

    def open_items(self, items: list[tuple[StudyRow, Any] | None],
                   shown: list[Any] | None = None) -> Task | None:
        """Authorise + record each study, then assemble its series in a worker and show them.

        ``None`` items leave their viewport empty (a hanging cell nothing fitted);
        ``shown`` gives, per item, the (content, demographics) already decoded and viewed
        (a hanging stage's): those are neither checked again nor decoded.
        """
        if not any(items):
            return None
        again = shown if shown is not None else [None] * len(items)
        fresh = [i if a is None else None for i, a in zip(items, again, strict=True)]
        # a retrieval's preview already checked and recorded its study: not twice
        checked = self.streaming.claim(fresh)
        if checked is None:  # declined when its first image came
            return None
        unchecked = [i for i in fresh if i is not None and i[0].study_uid not in checked]
        # GUI thread, before any pixel is decoded: screen fitness, acknowledgement and the
        # VIEW record (viewer.ui.access_ui); it explains a refusal itself
        if self.access_ui is not None and unchecked and not self.access_ui.before_open(unchecked):
            return None
        self._keep_watched(items, again)
        if not checked:
            self.streaming.open_local(fresh)  # a large volume on disk: one image first

        def assemble_all(progress: Callable[[int, int], None], cancel: threading.Event) -> Any:
            from viewer.dicom.image2d import ImageSeries, volume_possible
            from viewer.ui import loader

            studies: dict[str, tuple[StudyRow, list[Any]]] = {}
            for item in fresh:
                if item is not None:
                    studies.setdefault(item[0].study_uid, (item[0], []))[1].append(item[1])
            for row, series in studies.values():
                if row.study_uid not in checked:
                    self.authorizer(row, series)  # raises when refused: nothing is decoded
            out: list[Any] = []
            for n, item in enumerate(items):
                if cancel.is_set():
                    break
                if item is None or again[n] is not None:
                    out.append(again[n])
                    continue
                row, s = item
                if not volume_possible(s):  # radiographs, cine, colour: 2-D frames
                    out.append((ImageSeries.from_entry(s), demographics_of(row, s)))
                    progress(n + 1, len(items))
                    continue
                volumes = loader.assemble(s, cancel=cancel)
                if volumes:
                    out.append((volumes[0], demographics_of(row, s)))
                else:
                    out.append(None)
                progress(n + 1, len(items))
            return out

        task = Task(assemble_all)
        task.signals.finished.connect(self._assembled)
        return self._run(task, tr("Loading images"))

    def _assembled(self, items: list[Any]) -> None:
        if not any(items):
            self._fail(tr("No image could be assembled"))
            return
        self._when_viewers(lambda: self._show(items))

    def _show(self, items: list[Any]) -> None:
        try:
            self.streaming.finish()  # the preview's cell back to its viewport
            self.grid.show_volumes(items)
        except Exception as exc:  # a rendering failure is reported, never a silent hang
            log.exception("showing the images failed")
            self._fail(tr("The images could not be shown: {error}").format(error=exc))
            return
        self.images_shown.emit()

    def show_volumes(self, items: list[Any]) -> None:
        """Show already assembled (volume, demographics) pairs (tests, `regard view`)."""
        self._when_viewers(lambda: self._show(items))

    # ---------------------------------------------------------------- tasks
    def _run(self, task: Task, label: str) -> Task:
        self.tasks.add(task)
        self.progress.setFormat(label + " %p%")
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        task.signals.progress.connect(self._progress)
        task.signals.failed.connect(self._fail)
        for sig in (task.signals.finished, task.signals.failed, task.signals.cancelled):
            sig.connect(lambda *_a, t=task: self._task_done(t))
        return start(task)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _task_done(self, task: Task) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self.progress.hide()
            self.cancel_button.hide()

    def cancel_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    def _fail(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)
        self.load_failed.emit(message)
        if not getattr(self, "quiet", False):
            QMessageBox.warning(self, "Regard", message)

    def closeEvent(self, event: Any) -> None:
        self.cancel_tasks()
        self.window_menu.close_all()
        if self.grid is not None:
            self.grid.close_vtk()  # the hidden cells' windows too
        super().closeEvent(event)

