"""Study browser: search form, sortable results table, series list of the selected study.

Rows come from local imports (a :class:`viewer.dicom.index.DicomIndex` per
import); archive sources plug in through the same :class:`StudyRow` list.
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
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from viewer.ui.browser_query import Query, StudyRow, rows_from_index
from viewer.ui.i18n import N_, tr

__all__ = ["COLUMNS", "Query", "StudyBrowser", "StudyRow", "rows_from_index"]

COLUMNS = (N_("Patient"), N_("Patient ID"), N_("INS"), N_("Birth date"), N_("Study date"),
           N_("Modality"), N_("Description"), N_("Accession"), N_("Series"), N_("Source"))


class StudyBrowser(QWidget):
    """Search form + results + series of the selected study; emits what to open."""

    open_series = Signal(object, object)  # StudyRow, list of series entries
    import_requested = Signal()
    thumbnails_ready = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[StudyRow] = []
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
        buttons.addWidget(self.search_button)
        buttons.addWidget(self.import_button)
        lay.addLayout(buttons)

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

        self.search_button.clicked.connect(self.search)
        for edit in (self.name_edit, self.id_edit, self.birth_edit, self.accession_edit):
            edit.returnPressed.connect(self.search)
        self.import_button.clicked.connect(self.import_requested)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(self._open_selected_study)
        self.series_list.itemDoubleClicked.connect(self._open_series_item)

    # ---------------------------------------------------------------- data
    def add_rows(self, rows: list[StudyRow]) -> None:
        known = {(r.study_uid, r.source) for r in self.rows}
        self.rows.extend(r for r in rows if (r.study_uid, r.source) not in known)
        self.search()

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
        """Fill the table with the rows matching the form (local rows; archives later)."""
        q = self.query()
        self.model.removeRows(0, self.model.rowCount())
        for n, row in enumerate(self.rows):
            if not q.matches(row):
                continue
            items = []
            for value in row.values():
                item = QStandardItem(value)
                item.setData(n, Qt.ItemDataRole.UserRole)
                items.append(item)
            self.model.appendRow(items)
        self.series_list.clear()

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
        sel = self.table.selectionModel().selectedRows()
        if not sel:
            return
        row = self._row_at(sel[0].row())
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
            h, w = grey.shape
            image = QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
            item.setIcon(QIcon(QPixmap.fromImage(image)))
        self.thumbnails_ready.emit()

    def _open_selected_study(self) -> None:
        sel = self.table.selectionModel().selectedRows()
        if sel:
            row = self._row_at(sel[0].row())
            self.open_series.emit(row, list(row.series))

    def _open_series_item(self, item: QListWidgetItem) -> None:
        sel = self.table.selectionModel().selectedRows()
        if sel:
            row = self._row_at(sel[0].row())
            self.open_series.emit(row, [item.data(Qt.ItemDataRole.UserRole)])
