"""Study browser: search form, sortable results table, series list of the selected study.

Rows come from local imports (a :class:`viewer.dicom.index.DicomIndex` per
import) or from archives: with an archive (or "All archives", federated) selected,
the search runs in a worker (recorded as QUERY, :mod:`viewer.ui.retrieval`) and
its studies are listed with their archive; selecting one lists its series
(series-level query) and the patient's other studies on all archives (priors);
"Retrieve/Open" fetches it with a per-study progress bar and Cancel, emits ``arriving``
with the chosen series' instances as they are stored (the viewer shows the first at once)
and ``retrieved`` with its cache folder as soon as it is complete.
A study is listed once, whatever lists it: a retrieved or imported study that an archive
also lists is one row, its archive's, marked as cached (:func:`merge_rows`).
The search filters on patient name (substring, ``^`` or space as separator),
patient ID or INS, birth date, study date range, modality and accession.
No VTK here, and nothing slow: indexes are built by workers.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from viewer.ui.browser_query import (
    Query,
    StudyRow,
    archive_keys,
    archive_match,
    merge_rows,
    row_from_archive,
    rows_from_index,
    series_label,
)
from viewer.ui.i18n import N_, tr

__all__ = ["COLUMNS", "Query", "StudyBrowser", "StudyRow", "rows_from_index"]

COLUMNS = (N_("Patient"), N_("Patient ID"), N_("INS"), N_("Birth date"), N_("Study date"),
           N_("Modality"), N_("Description"), N_("Accession"), N_("Series"), N_("Source"))


def _errors_text(errors: dict[str, str]) -> str:
    """One line per failed archive, each naming it (the archive layer's messages usually do)."""
    return "\n".join(e if f"'{n}'" in e else tr("Archive {name}: {error}").format(name=n, error=e)
                     for n, e in errors.items())


class StudyBrowser(QWidget):
    """Search form + results + series of the selected study; emits what to open."""

    open_series = Signal(object, object)  # StudyRow, list of series entries
    import_requested = Signal()
    thumbnails_ready = Signal()
    retrieved = Signal(str, bool)  # cache folder of a retrieved series or study, open it
    # StudyRow, archive series match, paths of newly stored instances, series instance count
    arriving = Signal(object, object, object, int)
    archive_error = Signal(str)  # one line naming the archive
    search_done = Signal()
    series_listed = Signal()
    retrieval_started = Signal(object)  # RetrieveJob

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[StudyRow] = []
        self.nodes: dict[str, Any] = {}
        self._sources: dict[str, Any] = {}
        self._tasks: set[Any] = set()
        self.jobs: dict[str, Any] = {}  # study UID -> running RetrieveJob
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.id_edit = QLineEdit()
        self.birth_edit = QLineEdit()
        self.birth_edit.setPlaceholderText(tr("YYYYMMDD"))
        self.use_dates = QCheckBox(tr("Study date"))
        self.date_from = QDateEdit(QDate.currentDate().addYears(-1))
        self.date_to = QDateEdit(QDate.currentDate())
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        dates = QHBoxLayout()
        dates.addWidget(self.use_dates)
        dates.addWidget(self.date_from)
        dates.addWidget(self.date_to)
        self.modality = QComboBox()
        self.modality.addItems(["", "CT", "MR", "CR", "DX", "MG", "US", "NM", "PT", "XA"])
        self.accession_edit = QLineEdit()
        self.archive = QComboBox()
        self.archive.addItem(tr("Local imports"), "local")
        self.archive.addItem(tr("All archives"), "all")
        form.addRow(tr("Patient name"), self.name_edit)
        form.addRow(tr("Patient ID or INS"), self.id_edit)
        form.addRow(tr("Birth date"), self.birth_edit)
        form.addRow(dates)
        form.addRow(tr("Modality"), self.modality)
        form.addRow(tr("Accession"), self.accession_edit)
        form.addRow(tr("Archive"), self.archive)
        lay.addLayout(form)
        buttons = QHBoxLayout()
        self.search_button = QPushButton(tr("Search"))
        self.import_button = QPushButton(tr("Import..."))
        self.retrieve_button = QPushButton(tr("Retrieve/Open"))
        buttons.addWidget(self.search_button)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.retrieve_button)
        lay.addLayout(buttons)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().hide()
        lay.addWidget(self.table, 3)
        self.series_list = QListWidget()
        lay.addWidget(self.series_list, 2)
        lay.addWidget(QLabel(tr("Other studies of this patient")))
        self.priors_list = QListWidget()
        lay.addWidget(self.priors_list, 1)
        # retrievals in a scroll area of fixed height: a new one never resizes the dock (and
        # so never makes the viewports re-render on the UI thread)
        box = QWidget()
        self.retrievals = QVBoxLayout(box)
        self.retrievals.setContentsMargins(0, 0, 0, 0)
        self.retrievals.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(84)
        lay.addWidget(scroll)
        self.set_archives({})

        self.search_button.clicked.connect(self.search)
        for edit in (self.name_edit, self.id_edit, self.birth_edit, self.accession_edit):
            edit.returnPressed.connect(self.search)
        self.import_button.clicked.connect(self.import_requested)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(self._open_selected_study)
        self.series_list.itemDoubleClicked.connect(self._open_series_item)
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.priors_list.itemDoubleClicked.connect(self._retrieve_prior)

    # ------------------------------------------------------------- archives
    def set_archives(self, extra: dict[str, Any] | None = None) -> None:
        """List the configured archives plus ``extra`` (name -> ArchiveNode) in the form."""
        from viewer.archive.nodes import NodeError, configured_nodes

        try:
            nodes = dict(configured_nodes())
        except (NodeError, ValueError, OSError) as exc:
            self._say_error(str(exc))
            nodes = {}
        from dataclasses import replace

        # the listed name is the archive's name everywhere (rows, audit trail, messages)
        nodes.update({n: node if node.name == n else replace(node, name=n)
                      for n, node in (extra or {}).items()})
        self.nodes = nodes
        self._sources = {n: s for n, s in self._sources.items() if n in nodes}
        current = self.archive.currentData()
        self.archive.clear()
        self.archive.addItem(tr("Local imports"), "local")
        self.archive.addItem(tr("All archives"), "all")
        for name in nodes:
            self.archive.addItem(name, name)
        n = self.archive.findData(current)
        self.archive.setCurrentIndex(max(n, 0))

    def show_archive(self, name: str) -> Any:
        """Select archive ``name`` in the form and list its studies (all, in a worker)."""
        n = self.archive.findData(name)
        if n < 0:
            return None
        self.archive.setCurrentIndex(n)
        return self.search_archives()

    def source(self, name: str) -> Any:
        """The ArchiveSource of a listed archive (one per archive, reused)."""
        if name not in self._sources:
            from viewer.archive.source import ArchiveSource

            self._sources[name] = ArchiveSource(self.nodes[name])
        return self._sources[name]

    def selected_sources(self) -> list[Any]:
        choice = self.archive.currentData()
        names = list(self.nodes) if choice == "all" else [choice]
        return [self.source(n) for n in names if n in self.nodes]

    def _say_error(self, message: str) -> None:
        self.status.setStyleSheet("color: #d04040;")
        self.status.setText(message)
        self.archive_error.emit(message)

    def _say(self, message: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(message)

    def _keep(self, task: Any) -> Any:
        from viewer.ui.workers import start

        self._tasks.add(task)
        for sig in (task.signals.finished, task.signals.failed, task.signals.cancelled):
            sig.connect(lambda *_a, t=task: self._tasks.discard(t))
        task.signals.failed.connect(self._say_error)
        return start(task)

    def search_archives(self) -> Any:
        """Search the chosen archive(s) in a worker; results replace the archive rows."""
        from viewer.ui.retrieval import search_task

        sources = self.selected_sources()
        if not sources:
            self._say_error(tr("No archive is configured"))
            return None
        names = ", ".join(s.name for s in sources)
        self._say(tr("Searching {names}...").format(names=names))
        task = search_task(sources, "study", archive_keys(self.query()))
        task.signals.finished.connect(self._archive_results)
        return self._keep(task)

    def _archive_results(self, result: Any) -> None:
        # one row per study: a study already here (imported, retrieved) keeps its row
        self.rows = [r for r in self.rows if not isinstance(r.study, dict)]
        listed = merge_rows(self.rows, [row_from_archive(d) for d in result.results])
        self._fill([n for n, r in enumerate(self.rows) if any(r is x for x in listed)])
        if result.errors:
            self._say_error(_errors_text(result.errors))
        else:
            self._say(tr("{n} studies found").format(n=len(result.results)))
        self.search_done.emit()

    def _list_archive_series(self, row: StudyRow) -> None:
        """Series-level query of the selected study, and the patient's studies everywhere."""
        from viewer.ui.retrieval import search_task

        source = self.source(row.source) if row.source in self.nodes else None
        if source is None:
            return
        keys = {"StudyInstanceUID": row.study_uid}
        task = search_task([source], "series", keys)
        task.signals.finished.connect(lambda res, r=row: self._archive_series(r, res))
        self._keep(task)
        self._list_priors(row)

    def _list_priors(self, row: StudyRow) -> None:
        """The patient's other studies on all archives (a search in a worker)."""
        from viewer.ui.retrieval import search_task

        if row.patient_id and self.nodes:
            sources = [self.source(n) for n in self.nodes]
            task = search_task(sources, "study", {"PatientID": row.patient_id})
            task.signals.finished.connect(lambda res, r=row: self._archive_priors(r, res))
            self._keep(task)

    def _current_row(self) -> StudyRow | None:
        sel = self.table.selectionModel().selectedRows()
        return self._row_at(sel[0].row()) if sel else None

    def _archive_series(self, row: StudyRow, result: Any) -> None:
        if self._current_row() is not row:
            return
        from viewer.archive.retrieve import _series_order

        row.series = sorted(result.results, key=_series_order)
        self.series_list.clear()
        for s in row.series:
            item = QListWidgetItem(series_label(s))
            item.setData(Qt.ItemDataRole.UserRole, s)
            self.series_list.addItem(item)
        if self.series_list.count():
            self.series_list.setCurrentRow(0)
        if result.errors:
            self._say_error(_errors_text(result.errors))
        self.series_listed.emit()

    def _archive_priors(self, row: StudyRow, result: Any) -> None:
        if self._current_row() is not row:
            return
        self.priors_list.clear()
        others = [row_from_archive(d) for d in result.results
                  if d.get("StudyInstanceUID") != row.study_uid]
        others.sort(key=lambda r: r.study_date, reverse=True)
        for prior in others:
            item = QListWidgetItem(" ".join(v for v in (
                prior.values()[4], prior.modalities, prior.description,
                f"[{prior.source}]") if v))
            item.setData(Qt.ItemDataRole.UserRole, prior)
            self.priors_list.addItem(item)

    # ------------------------------------------------------------ retrieval
    def retrieve_selected(self) -> Any:
        """Retrieve the selected archive study (chosen series first) and open it."""
        row = self._current_row()
        if row is None or not isinstance(row.study, dict):
            if row is not None:
                self._open_selected_study()
            return None
        item = self.series_list.currentItem()
        first = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if first is None and row.series:
            first = row.series[0]
        uid = first.get("SeriesInstanceUID") if isinstance(first, dict) else None
        return self.retrieve(row, uid)

    def _retrieve_prior(self, item: QListWidgetItem) -> None:
        self.retrieve(item.data(Qt.ItemDataRole.UserRole), None)

    def retrieve(self, row: StudyRow, first_series: str | None) -> Any:
        from viewer.ui.retrieval import RetrievalWidget, RetrieveJob, start_job

        if row.study_uid in self.jobs:
            return self.jobs[row.study_uid]
        if row.source not in self.nodes:
            self._say_error(tr("Archive {name} is not configured").format(name=row.source))
            return None
        job = RetrieveJob(self.source(row.source), archive_match(row), first_series)
        label = f"{row.values()[4]} {row.description} [{row.source}]".strip()
        widget = RetrievalWidget(label, job)
        self.retrievals.insertWidget(self.retrievals.count() - 1, widget)  # above the stretch
        self.jobs[row.study_uid] = job
        sig = job.signals
        sig.first_ready.connect(lambda folder: self.retrieved.emit(folder, True))
        if first_series is not None:
            info = next((s for s in row.series if isinstance(s, dict)
                         and s.get("SeriesInstanceUID") == first_series),
                        {"SeriesInstanceUID": first_series})
            sig.arrived.connect(lambda paths, total: self.arriving.emit(row, info, paths, total))
        opened = first_series is not None
        sig.finished.connect(lambda res: self._retrieve_done(row, res, opened))
        sig.failed.connect(lambda message: self._retrieve_ended(row, message))
        sig.cancelled.connect(lambda: self._retrieve_ended(row, tr("Retrieval cancelled")))
        self.retrieval_started.emit(job)
        return start_job(job)

    def _retrieve_done(self, row: StudyRow, result: Any, opened: bool) -> None:
        self.jobs.pop(row.study_uid, None)
        folder = str(result.folder)
        self._say(tr("{n} images retrieved from {name}").format(n=result.instances,
                                                                 name=row.source))
        # no chosen series (a prior): open the study now it is all here; else list the
        # whole study (the row so far knows the chosen series only)
        self.retrieved.emit(folder, not opened)

    def _retrieve_ended(self, row: StudyRow, message: str) -> None:
        self.jobs.pop(row.study_uid, None)
        if message == tr("Retrieval cancelled"):
            self._say(message)
        else:
            self._say_error(message)

    # ---------------------------------------------------------------- data
    def add_rows(self, rows: list[StudyRow]) -> None:
        """Rows of a local import or a retrieval; a study already listed is merged into its
        row (one row per Study Instance UID), which is redrawn where it is shown."""
        before = len(self.rows)
        merged = merge_rows(self.rows, rows)
        if self.archive.currentData() == "local":
            self.search()
            return
        for row in merged:
            if any(row is r for r in self.rows[:before]):
                self._redraw(row)

    def _redraw(self, row: StudyRow) -> None:
        """Update the cells of ``row`` where the table shows it (selection kept)."""
        n = next(k for k, r in enumerate(self.rows) if r is row)
        for r in range(self.model.rowCount()):
            if self.model.item(r, 0).data(Qt.ItemDataRole.UserRole) == n:
                for c, value in enumerate(self._texts(row)):
                    self.model.item(r, c).setText(value)

    @staticmethod
    def _texts(row: StudyRow) -> tuple[str, ...]:
        values = row.values()
        if row.cached and row.archive is not None:
            values = (*values[:-1], tr("{archive} (cached)").format(archive=row.source))
        return values

    def query(self) -> Query:
        def da(d: QDateEdit) -> str:
            return d.date().toString("yyyyMMdd")

        return Query(
            name=self.name_edit.text().strip(),
            patient_id=self.id_edit.text().strip(),
            birth_date=self.birth_edit.text().strip().replace("-", ""),
            date_from=da(self.date_from) if self.use_dates.isChecked() else "",
            date_to=da(self.date_to) if self.use_dates.isChecked() else "",
            modality=self.modality.currentText(),
            accession=self.accession_edit.text().strip(),
        )

    def search(self) -> None:
        """Local imports: filter the known rows; an archive: query it in a worker."""
        if self.archive.currentData() != "local":
            self.search_archives()
            return
        q = self.query()
        self._fill([n for n, r in enumerate(self.rows)
                    if not isinstance(r.study, dict) and q.matches(r)])

    def _fill(self, numbers: list[int]) -> None:
        self.model.removeRows(0, self.model.rowCount())
        for n in numbers:
            row = self.rows[n]
            items = []
            for value in self._texts(row):
                item = QStandardItem(value)
                item.setData(n, Qt.ItemDataRole.UserRole)
                items.append(item)
            self.model.appendRow(items)
        self.series_list.clear()
        self.priors_list.clear()

    def shown_rows(self) -> list[StudyRow]:
        out = []
        for r in range(self.proxy.rowCount()):
            n = self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)
            out.append(self.rows[int(n)])
        return out

    def _row_at(self, proxy_row: int) -> StudyRow:
        n = self.proxy.index(proxy_row, 0).data(Qt.ItemDataRole.UserRole)
        return self.rows[int(n)]

    def _selection_changed(self) -> None:
        self.series_list.clear()
        self.priors_list.clear()
        sel = self.table.selectionModel().selectedRows()
        if not sel:
            return
        row = self._row_at(sel[0].row())
        if isinstance(row.study, dict):
            self._list_archive_series(row)
            return
        if row.archive is not None and row.source in self.nodes:
            self._list_priors(row)  # cached, and on an archive: its priors there too
        for s in row.series:
            number = f"#{s.number} " if getattr(s, "number", None) is not None else ""
            n = len(getattr(s, "instances", []))
            text = f"{number}{s.modality} {s.description}  ({n} {tr('images')})"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, s)
            self.series_list.addItem(item)
        self._request_thumbnails(row)

    def _request_thumbnails(self, row: StudyRow) -> None:
        """Series thumbnails (IHE BIR), made off the GUI process; icons set when they come."""
        from viewer.ui import loader
        from viewer.ui.workers import Task, start

        series = [s for s in row.series if getattr(s, "instances", None)]
        if not series:
            return
        paths = [str(s.instances[len(s.instances) // 2].path) for s in series]
        task = Task(lambda progress, cancel: loader.thumbnails(paths, 64, cancel))
        uids = [s.series_uid for s in series]
        task.signals.finished.connect(lambda images: self._set_thumbnails(uids, images))
        self._thumb_task = task  # kept alive until it reports
        start(task)

    def _set_thumbnails(self, uids: list[str], images: list[Any]) -> None:
        from PySide6.QtGui import QIcon, QImage, QPixmap

        by_uid = dict(zip(uids, images, strict=False))
        self.series_list.setIconSize(QSize(64, 64))
        for n in range(self.series_list.count()):
            item = self.series_list.item(n)
            s = item.data(Qt.ItemDataRole.UserRole)
            grey = by_uid.get(getattr(s, "series_uid", ""))
            if grey is None:
                continue
            h, w = grey.shape[:2]
            if grey.ndim == 3:  # colour (ultrasound, photographs): 8-bit RGB
                image = QImage(grey.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            else:
                image = QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
            item.setIcon(QIcon(QPixmap.fromImage(image)))
        self.thumbnails_ready.emit()

    def _open_selected_study(self) -> None:
        sel = self.table.selectionModel().selectedRows()
        if sel:
            row = self._row_at(sel[0].row())
            if isinstance(row.study, dict):
                self.retrieve_selected()
                return
            self.open_series.emit(row, list(row.series))

    def _open_series_item(self, item: QListWidgetItem) -> None:
        sel = self.table.selectionModel().selectedRows()
        if sel:
            row = self._row_at(sel[0].row())
            if isinstance(row.study, dict):
                self.retrieve_selected()
                return
            self.open_series.emit(row, [item.data(Qt.ItemDataRole.UserRole)])
