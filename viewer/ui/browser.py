"""Study browser: search form, sortable results table, series list of the selected study.

Rows come from local imports (a :class:`viewer.dicom.index.DicomIndex` per
import); archive sources plug in through the same :class:`StudyRow` list.
The search filters on patient name (substring, ``^`` or space as separator),
patient ID or INS, birth date, study date range, modality and accession.
No VTK here, and nothing slow: indexes are built by workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt, Signal
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

from viewer.ui.i18n import N_, tr
from viewer.ui.models import format_da, format_pn

COLUMNS = (N_("Patient"), N_("Patient ID"), N_("INS"), N_("Birth date"), N_("Study date"),
           N_("Modality"), N_("Description"), N_("Accession"), N_("Series"), N_("Source"))


@dataclass
class StudyRow:
    """One study as the browser lists it (local import or archive result)."""

    study_uid: str
    patient_name: str
    patient_id: str
    ins: str
    birth_date: str
    study_date: str
    modalities: str
    description: str
    accession: str
    source: str
    series: list[Any] = field(default_factory=list)  # SeriesEntry-like: description, number...
    patient: Any = None
    study: Any = None

    def values(self) -> tuple[str, ...]:
        return (format_pn(self.patient_name), self.patient_id, self.ins,
                format_da(self.birth_date), format_da(self.study_date), self.modalities,
                self.description, self.accession, str(len(self.series)), self.source)


def rows_from_index(index: Any, source: str) -> list[StudyRow]:
    """StudyRows of a :class:`viewer.dicom.index.DicomIndex` (a local import)."""
    rows = []
    for study in index.studies.values():
        patient = index.patients.get(study.patient_key)
        series = [index.series[u] for u in study.series_uids if u in index.series]
        series.sort(key=lambda s: (s.number is None, s.number or 0, s.description))
        rows.append(StudyRow(
            study_uid=study.study_uid,
            patient_name=getattr(patient, "name", ""),
            patient_id=getattr(patient, "patient_id", ""),
            ins=getattr(patient, "ins", ""),
            birth_date=getattr(patient, "birth_date", ""),
            study_date=study.date,
            modalities="/".join(sorted({s.modality for s in series if s.modality})),
            description=study.description,
            accession=study.accession,
            source=source,
            series=series,
            patient=patient,
            study=study,
        ))
    return rows


@dataclass
class Query:
    """What the search form asks; empty fields match everything."""

    name: str = ""
    patient_id: str = ""
    birth_date: str = ""  # YYYYMMDD
    date_from: str = ""
    date_to: str = ""
    modality: str = ""
    accession: str = ""

    def matches(self, row: StudyRow) -> bool:
        def norm(s: str) -> str:
            return " ".join(s.replace("^", " ").lower().split())

        if self.name and norm(self.name) not in norm(row.patient_name):
            return False
        if self.patient_id and self.patient_id.strip().lower() not in (
            row.patient_id.lower(), row.ins.lower()
        ):
            return False
        if self.birth_date and row.birth_date != self.birth_date:
            return False
        if self.date_from and (not row.study_date or row.study_date < self.date_from):
            return False
        if self.date_to and (not row.study_date or row.study_date > self.date_to):
            return False
        if self.modality and self.modality.upper() not in row.modalities.upper().split("/"):
            return False
        return not (self.accession and self.accession.strip() != row.accession)


class StudyBrowser(QWidget):
    """Search form + results + series of the selected study; emits what to open."""

    open_series = Signal(object, object)  # StudyRow, list of series entries
    import_requested = Signal()

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
