"""A patient's access trail in a table, and the journal's integrity check (issue 6).

The same records as ``regard audit show --patient ID`` (who accessed which study
of this patient, when, how: normal or break-the-glass, allowed or refused),
read from the tamper-evident journal (:mod:`viewer.access.journal`). Reading
the trail is itself recorded (Audit Log Used) before a row is shown; when it
cannot be recorded, nothing is shown. "Verify" checks the hash chain and names
the first broken record.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from viewer.access.gate import AccessGate, Action, AuditUnavailable, PatientRef
from viewer.access.trail import record_row, trail
from viewer.ui.i18n import N_, tr

log = logging.getLogger(__name__)

COLUMNS = (N_("Date and time"), N_("User"), N_("User ID"), N_("Role"), N_("Action"),
           N_("Access mode"), N_("Outcome"), N_("Study"), N_("Archive"), N_("Reason"),
           N_("Screen"))
ACTION_NAMES = {
    "query": N_("search"), "retrieve": N_("retrieve"), "transferred": N_("transferred"),
    "view": N_("view images"), "view_report": N_("view report"), "export": N_("export"),
    "print": N_("print"), "break_glass_start": N_("emergency declared"),
    "break_glass_end": N_("emergency ended"), "declare_care": N_("care relationship declared"),
    "login": N_("login"), "logout": N_("logout"), "change_settings": N_("settings changed"),
}
OUTCOME_NAMES = {"success": N_("allowed"), "denied": N_("refused"), "failure": N_("failed")}
T_NOT_RECORDED = N_("The consultation of the trail cannot be recorded, so the trail is not shown: {reason}")  # noqa: E501
BREAK_GLASS_COLOUR = QColor("#ffd0d0")


def trail_rows(gate: AccessGate, patient: str) -> list[dict[str, Any]]:
    """The patient's trail as ``regard audit show --patient --json`` lists it."""
    return [record_row(r) for r in trail(gate.journal, patient, None)]


def local_time(iso: str) -> str:
    """The record's time in the station's time zone, to the second."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def screen_text(fitness: str) -> str:
    """The screen column: class, and whether the screen was fit for the exam."""
    if not fitness:
        return ""
    import json

    try:
        doc = json.loads(fitness)
    except ValueError:
        return fitness
    if not isinstance(doc, dict):
        return fitness
    cls = doc.get("screen_class") or "?"
    if doc.get("diagnostic_screen") is False:
        text = tr("not diagnostic ({cls}, {need} needed)").format(
            cls=cls, need=doc.get("required_class") or "?")
        if doc.get("acknowledged"):
            text += ", " + tr("acknowledged")
        return text
    return tr("diagnostic ({cls})").format(cls=cls) if doc.get("required_class") else str(cls)


class AuditTrailDialog(QDialog):
    """Who accessed a patient's studies: one row per record, emergencies highlighted."""

    def __init__(self, gate: AccessGate | None = None, patient: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gate = gate or AccessGate()
        self.rows: list[dict[str, Any]] = []
        self.setWindowTitle(tr("Access trail"))
        self.resize(1100, 520)
        self.patient_edit = QLineEdit(patient)
        self.patient_edit.setPlaceholderText(tr("Patient ID or INS"))
        self.patient_edit.returnPressed.connect(self.show_trail)
        self.show_button = QPushButton(tr("Show"))
        self.show_button.clicked.connect(self.show_trail)
        self.verify_button = QPushButton(tr("Verify the journal"))
        self.verify_button.clicked.connect(self.verify)
        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Patient")))
        top.addWidget(self.patient_edit, 1)
        top.addWidget(self.show_button)
        top.addWidget(self.verify_button)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        if patient:
            self.show_trail()

    def show_trail(self) -> bool:
        """Record the reading of the trail, then list it (nothing shown if not recorded)."""
        patient = self.patient_edit.text().strip()
        self.model.removeRows(0, self.model.rowCount())
        self.rows = []
        if not patient:
            self.status.setText(tr("Enter a patient ID or INS."))
            return False
        try:
            self.gate.record(Action.AUDIT_LOG_USED, patient=PatientRef(id=patient),
                             detail={"journal": self.gate.journal.path.as_uri(),
                                     "query": {"patient": True, "user": ""}, "from": "gui"})
            self.rows = trail_rows(self.gate, patient)
        except AuditUnavailable as exc:
            self._error(tr(T_NOT_RECORDED).format(reason=exc))
            return False
        except Exception as exc:  # identity missing, journal unreadable...
            self._error(str(exc))
            return False
        for r in self.rows:
            self.model.appendRow(self._items(r))
        self.table.resizeColumnsToContents()
        emergencies = sum(r["mode"] == "break_glass" for r in self.rows)
        self.status.setStyleSheet("")
        self.status.setText(
            tr("{n} accesses recorded, {bg} under emergency access (break the glass)").format(
                n=len(self.rows), bg=emergencies) if self.rows else tr("No access recorded"))
        return True

    def _items(self, r: dict[str, Any]) -> list[QStandardItem]:
        mode = tr("BREAK THE GLASS") if r["mode"] == "break_glass" else tr("normal")
        action = r["action"]
        values = [
            local_time(r["time"]), r["user"], r["user_id"], r["role"],
            tr(ACTION_NAMES[action]) if action in ACTION_NAMES else action, mode,
            tr(OUTCOME_NAMES[r["outcome"]]) if r["outcome"] in OUTCOME_NAMES else r["outcome"],
            ", ".join(r["study_uids"]) or "-", r["archive"] or "-", r["reason"],
            screen_text(r["screen_fitness"]),
        ]
        items = [QStandardItem(str(v)) for v in values]
        items[0].setToolTip(r["time"])
        items[0].setData(r["seq"], Qt.ItemDataRole.UserRole)
        if r["mode"] == "break_glass":
            for it in items:
                it.setBackground(BREAK_GLASS_COLOUR)
        if r["outcome"] != "success":
            items[6].setForeground(QColor("#c00000"))
        return items

    def verify(self) -> bool:
        """Check the hash chain; say how many records are intact or where it breaks."""
        journal = self.gate.journal
        if not journal.path.exists():
            self._error(tr("No audit journal at {path}").format(path=journal.path))
            return False
        try:
            result = journal.verify()
        except AuditUnavailable as exc:
            self._error(str(exc))
            return False
        if result.ok:
            self.status.setStyleSheet("color: #006000;")
            self.status.setText(tr("Audit journal intact: {n} records verified").format(
                n=result.count))
            return True
        self._error(tr("The audit journal is broken at record {seq}: {problem}").format(
            seq=result.first_bad, problem=result.problem))
        return False

    def _error(self, text: str) -> None:
        self.status.setStyleSheet("color: #c00000; font-weight: bold;")
        self.status.setText(text)
