"""Hanging-protocol editor: the protocols a user can change, saved to their own file.

Thin Qt over :mod:`viewer.hanging` (which validates and writes): the list shows
every protocol in trial order (defaults, the user's own, those switched off);
the form edits one protocol's rules (modality, body part and series description
patterns, priors), its stages (layout, minimum priors) and each stage's viewport
rules, one table row per cell in row-major order. *Save* validates the whole
protocol with :func:`viewer.hanging.parse_protocol` (an error names the stage and
the viewport) and writes it to ``$REGARD_HOME/hanging-protocols.toml`` through
:func:`viewer.hanging.save_user_protocol`; *Restore default* drops the user's
copy. Nothing is saved until *Save* succeeds; the error stays shown in the dialog.
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer import hanging
from viewer.ui.i18n import N_, tr

log = logging.getLogger(__name__)

LAYOUT_CHOICES = ("1x1", "1x2", "2x1", "2x2", "1x3", "1x4", "2x3", "3x3", "4x4", "mpr")
ORIGINS = {"default": N_("default"), "user": N_("yours"),
           "user over default": N_("yours, replaces the default")}
# viewport-rule columns: key, header, kind (text / int / bool / a tuple of choices)
COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("study", N_("Study"), ("current", "prior")),
    ("modality", N_("Modality"), "text"),
    ("series_description", N_("Series description"), "text"),
    ("orientation", N_("Orientation"), hanging.ORIENTATIONS),
    ("laterality", N_("Laterality"), ("", "R", "L")),
    ("view", N_("View"), "text"),
    ("choose", N_("Choose"), hanging.CHOICES),
    ("index", N_("Index"), "int"),
    ("chest_wall", N_("Chest wall"), ("", "left", "right")),
    ("mirror", N_("Mirror"), "bool"),
    ("head_up", N_("Head up"), "bool"),
    ("same_description_as", N_("Same description as cell"), "int"),
)
DEFAULTS = {"study": "current", "choose": "first", "index": 0, "mirror": False,
            "head_up": False}
NO_MAX = -1  # the max-priors spin box's "any"


def _words(text: str) -> list[str]:
    return [w.upper() for w in re.split(r"[,\s]+", text.strip()) if w]


class HangingEditor(QDialog):
    """The editor dialog (module docstring). ``saved`` gives the saved protocol's name."""

    saved = Signal(str)

    def __init__(self, parent: QWidget | None = None, user_file: Path | None = None,
                 default_file: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Hanging protocols"))
        self.resize(1250, 700)
        self.user_file = user_file or hanging.user_protocols_path()
        self.default_file = default_file
        self.protocols: list[hanging.EditableProtocol] = []
        self.current = -1  # row of the protocol in the form
        self.stages: list[dict[str, Any]] = []
        self.stage_row = -1
        self._loading = False
        splitter = QSplitter(self)
        splitter.addWidget(self._build_list())
        splitter.addWidget(self._build_form())
        splitter.setStretchFactor(1, 3)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030;")
        self.status = QLabel("")
        buttons = QHBoxLayout()
        self.save_button = QPushButton(tr("Save"))
        self.save_button.clicked.connect(self.save)
        self.restore_button = QPushButton(tr("Restore default"))
        self.restore_button.clicked.connect(self.restore_default)
        self.delete_button = QPushButton(tr("Delete"))
        self.delete_button.clicked.connect(self.restore_default)  # a protocol of the user's
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.accept)
        buttons.addWidget(self.status, 1)
        for b in (self.delete_button, self.restore_button, self.save_button, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.reload()

    # ------------------------------------------------------------ building
    def _build_list(self) -> QWidget:
        box = QWidget(self)
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(box)
        self.list.currentRowChanged.connect(self._select_protocol)
        v.addWidget(self.list, 1)
        row = QHBoxLayout()
        new = QPushButton(tr("New"))
        new.clicked.connect(self.new_protocol)
        dup = QPushButton(tr("Duplicate"))
        dup.clicked.connect(self.duplicate_protocol)
        row.addWidget(new)
        row.addWidget(dup)
        v.addLayout(row)
        return box

    def _build_form(self) -> QWidget:
        box = QWidget(self)
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        general = QFormLayout()
        self.name = QLineEdit()
        self.priority = QSpinBox()
        self.priority.setRange(-1000, 1000)
        self.enabled = QCheckBox(tr("Switched on"))
        self.fill_empty = QCheckBox(tr("Fill empty cells with the remaining series"))
        general.addRow(tr("Name"), self.name)
        general.addRow(tr("Priority"), self.priority)
        general.addRow("", self.enabled)
        general.addRow("", self.fill_empty)
        top = QHBoxLayout()  # rules beside the name: the viewport table gets the height
        top.addLayout(general, 1)
        top.addWidget(self._build_match(), 1)
        v.addLayout(top)
        v.addWidget(self._build_stages(), 1)
        return box

    def _build_match(self) -> QGroupBox:
        group = QGroupBox(tr("Applies to studies with"))
        form = QFormLayout(group)
        self.match_modality = QLineEdit()
        self.match_modality.setPlaceholderText(tr("e.g. CT, MR (empty: any)"))
        self.match_body = QLineEdit()
        self.match_body.setPlaceholderText(tr("regular expression, e.g. HEAD|BRAIN"))
        self.match_desc = QLineEdit()
        self.match_desc.setPlaceholderText(tr("regular expression, e.g. angio"))
        self.min_priors = QSpinBox()
        self.min_priors.setRange(0, 20)
        self.max_priors = QSpinBox()
        self.max_priors.setRange(NO_MAX, 20)
        self.max_priors.setSpecialValueText(tr("any"))
        form.addRow(tr("Modality"), self.match_modality)
        form.addRow(tr("Body part"), self.match_body)
        form.addRow(tr("Series description"), self.match_desc)
        form.addRow(tr("Priors at least"), self.min_priors)
        form.addRow(tr("Priors at most"), self.max_priors)
        return group

    def _build_stages(self) -> QGroupBox:
        group = QGroupBox(tr("Stages"))
        h = QHBoxLayout(group)
        left = QVBoxLayout()
        self.stage_list = QListWidget()
        self.stage_list.setMaximumWidth(220)
        self.stage_list.currentRowChanged.connect(self._select_stage)
        left.addWidget(self.stage_list, 1)
        for text, slot in ((N_("Add stage"), self.add_stage),
                           (N_("Remove stage"), self.remove_stage),
                           (N_("Move up"), lambda: self.move_stage(-1)),
                           (N_("Move down"), lambda: self.move_stage(1))):
            b = QPushButton(tr(text))
            b.clicked.connect(lambda _c=False, s=slot: s())
            left.addWidget(b)
        h.addLayout(left)
        right = QVBoxLayout()
        form = QFormLayout()
        self.stage_name = QLineEdit()
        self.stage_name.textEdited.connect(self._stage_name_edited)
        self.layout_combo = QComboBox()
        self.layout_combo.setEditable(True)  # any RxC up to 4x4
        self.layout_combo.addItems(LAYOUT_CHOICES)
        self.stage_min_priors = QSpinBox()
        self.stage_min_priors.setRange(0, 20)
        form.addRow(tr("Stage name"), self.stage_name)
        form.addRow(tr("Layout"), self.layout_combo)
        form.addRow(tr("Shown with at least this many priors"), self.stage_min_priors)
        right.addLayout(form)
        right.addWidget(QLabel(tr("Viewports, left to right then top to bottom:")))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c[1]) for c in COLUMNS])
        right.addWidget(self.table, 1)
        cells = QHBoxLayout()
        add = QPushButton(tr("Add viewport"))
        add.clicked.connect(lambda: self.add_viewport({}))
        remove = QPushButton(tr("Remove viewport"))
        remove.clicked.connect(self.remove_viewport)
        cells.addWidget(add)
        cells.addWidget(remove)
        cells.addStretch(1)
        right.addLayout(cells)
        h.addLayout(right, 1)
        return group

    # ------------------------------------------------------------- listing
    def reload(self, select: str | None = None) -> None:
        """Re-read the default and user files; select ``select`` (a name) if given."""
        try:
            self.protocols = hanging.editable_protocols(self.default_file, self.user_file)
        except hanging.HangingError as exc:
            self.protocols = []
            self.show_error(str(exc))
        self.current = -1
        self.list.blockSignals(True)
        self.list.clear()
        for p in self.protocols:
            self.list.addItem(self._list_text(p))
        self.list.blockSignals(False)
        names = [p.name for p in self.protocols]
        row = names.index(select) if select in names else (0 if names else -1)
        self.list.setCurrentRow(row)
        if row >= 0 and self.current != row:
            self._select_protocol(row)

    def _list_text(self, p: hanging.EditableProtocol) -> str:
        text = f"{p.name}  ({tr(ORIGINS.get(p.origin, p.origin))})"
        return text if p.enabled else f"{text}  [{tr('off')}]"

    def protocol_names(self) -> list[str]:
        return [p.name for p in self.protocols]

    def select(self, name: str) -> None:
        """Show the protocol called ``name`` in the form."""
        self.list.setCurrentRow(self.protocol_names().index(name))

    def _select_protocol(self, row: int) -> None:
        if self._loading:
            return
        if 0 <= self.current < len(self.protocols):
            try:  # keep unsaved edits of the previous protocol while browsing
                self.protocols[self.current].raw = self.form_raw()
                self.protocols[self.current].enabled = self.enabled.isChecked()
            except hanging.HangingError:
                pass  # its errors are shown again when it is saved
        self.current = row
        if 0 <= row < len(self.protocols):
            self.load(self.protocols[row])

    def new_protocol(self) -> None:
        raw = {"name": self._unique(tr("New protocol")), "priority": 10,
               "match": {"modality": ["CT"]},
               "stage": [{"name": "1x1", "layout": "1x1", "viewport": [{}]}]}
        self._append(hanging.EditableProtocol(raw, "user", True))

    def duplicate_protocol(self) -> None:
        if not 0 <= self.current < len(self.protocols):
            return
        raw = copy.deepcopy(self.form_raw_or_stored())
        raw["name"] = self._unique(f"{raw.get('name', '')} 2")
        self._append(hanging.EditableProtocol(raw, "user", True))

    def _append(self, p: hanging.EditableProtocol) -> None:
        self.protocols.append(p)
        self.list.addItem(self._list_text(p))
        self.list.setCurrentRow(len(self.protocols) - 1)

    def _unique(self, base: str) -> str:
        names, name, n = set(self.protocol_names()), base, 2
        while name in names:
            name, n = f"{base} {n}", n + 1
        return name

    # ---------------------------------------------------------- form <-> raw
    def load(self, p: hanging.EditableProtocol) -> None:
        """Fill the form with protocol ``p``."""
        self._loading = True
        raw = p.raw
        self.name.setText(str(raw.get("name", "")))
        self.priority.setValue(int(raw.get("priority", 0)))
        self.enabled.setChecked(p.enabled)
        self.fill_empty.setChecked(bool(raw.get("fill_empty", True)))
        m = raw.get("match", {}) or {}
        mod = m.get("modality", [])
        self.match_modality.setText(", ".join([mod] if isinstance(mod, str) else mod))
        self.match_body.setText(str(m.get("body_part", "") or ""))
        self.match_desc.setText(str(m.get("series_description", "") or ""))
        self.min_priors.setValue(int(m.get("min_priors", 0)))
        mx = m.get("max_priors")
        self.max_priors.setValue(NO_MAX if mx is None else int(mx))
        self.stages = copy.deepcopy(list(raw.get("stage", [])))
        self.stage_row = -1
        self.stage_list.clear()
        for s in self.stages:
            self.stage_list.addItem(str(s.get("name", s.get("layout", ""))))
        self._loading = False
        self.stage_list.setCurrentRow(0 if self.stages else -1)
        if not self.stages:
            self._show_stage({})
        self.restore_button.setEnabled(p.origin == "user over default")
        self.delete_button.setEnabled(p.origin == "user")
        self.error.setText("")

    def form_raw(self) -> dict[str, Any]:
        """The protocol in the form as a TOML table (``protocols.toml`` schema)."""
        self._commit_stage()
        raw: dict[str, Any] = {"name": self.name.text().strip(),
                               "priority": self.priority.value()}
        if not self.fill_empty.isChecked():
            raw["fill_empty"] = False
        match: dict[str, Any] = {}
        if _words(self.match_modality.text()):
            match["modality"] = _words(self.match_modality.text())
        for key, edit in (("body_part", self.match_body),
                          ("series_description", self.match_desc)):
            if edit.text().strip():
                match[key] = edit.text().strip()
        if self.min_priors.value():
            match["min_priors"] = self.min_priors.value()
        if self.max_priors.value() != NO_MAX:
            match["max_priors"] = self.max_priors.value()
        if match:
            raw["match"] = match
        raw["stage"] = copy.deepcopy(self.stages)
        return raw

    def form_raw_or_stored(self) -> dict[str, Any]:
        try:
            return self.form_raw()
        except hanging.HangingError:
            return self.protocols[self.current].raw

    # -------------------------------------------------------------- stages
    def _select_stage(self, row: int) -> None:
        if self._loading:
            return
        try:
            self._commit_stage()
        except hanging.HangingError as exc:
            self.show_error(str(exc))
        self.stage_row = row
        self._show_stage(self.stages[row] if 0 <= row < len(self.stages) else {})

    def _show_stage(self, stage: dict[str, Any]) -> None:
        self.stage_name.setText(str(stage.get("name", "")))
        self.layout_combo.setCurrentText(str(stage.get("layout", "1x1")))
        self.stage_min_priors.setValue(int(stage.get("min_priors", 0)))
        self.table.setRowCount(0)
        for rule in stage.get("viewport", []):
            self.add_viewport(rule)

    def _stage_name_edited(self, text: str) -> None:
        item = self.stage_list.item(self.stage_row)
        if item is not None:
            item.setText(text)

    def _commit_stage(self) -> None:
        """Write the stage widgets back into ``self.stages`` (raises on a non-number)."""
        if not 0 <= self.stage_row < len(self.stages):
            return
        stage: dict[str, Any] = {"name": self.stage_name.text().strip()
                                 or self.layout_combo.currentText().strip(),
                                 "layout": self.layout_combo.currentText().strip()}
        if self.stage_min_priors.value():
            stage["min_priors"] = self.stage_min_priors.value()
        stage["viewport"] = [self._rule(r) for r in range(self.table.rowCount())]
        self.stages[self.stage_row] = stage

    def add_stage(self) -> None:
        self._commit_stage()
        self.stages.append({"name": f"{tr('Stage')} {len(self.stages) + 1}",
                            "layout": "1x1", "viewport": [{}]})
        self.stage_list.addItem(self.stages[-1]["name"])
        self.stage_list.setCurrentRow(len(self.stages) - 1)

    def remove_stage(self) -> None:
        row = self.stage_row
        if not 0 <= row < len(self.stages):
            return
        del self.stages[row]
        self.stage_row = -1
        self.stage_list.takeItem(row)
        self.stage_list.setCurrentRow(min(row, len(self.stages) - 1))

    def move_stage(self, step: int) -> None:
        row, to = self.stage_row, self.stage_row + step
        if not (0 <= row < len(self.stages) and 0 <= to < len(self.stages)):
            return
        self._commit_stage()
        self.stages[row], self.stages[to] = self.stages[to], self.stages[row]
        for n in (row, to):
            self.stage_list.item(n).setText(str(self.stages[n].get("name", "")))
        self.stage_row = -1
        self.stage_list.setCurrentRow(to)

    # ------------------------------------------------------------ viewports
    def add_viewport(self, rule: dict[str, Any]) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, (key, _label, kind) in enumerate(COLUMNS):
            value = rule.get(key, DEFAULTS.get(key, ""))
            if isinstance(kind, tuple):
                combo = QComboBox()
                combo.addItems(list(kind))
                combo.setCurrentText(str(value).lower() if key != "laterality"
                                     else str(value).upper())
                self.table.setCellWidget(r, c, combo)
            elif kind == "bool":
                item = QTableWidgetItem("")
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                item.setCheckState(Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
                self.table.setItem(r, c, item)
            else:
                if isinstance(value, list):
                    value = ", ".join(value)
                self.table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))

    def remove_viewport(self) -> None:
        row = self.table.currentRow()
        self.table.removeRow(row if row >= 0 else self.table.rowCount() - 1)

    def _rule(self, r: int) -> dict[str, Any]:
        rule: dict[str, Any] = {}
        for c, (key, label, kind) in enumerate(COLUMNS):
            if isinstance(kind, tuple):
                value: Any = self.table.cellWidget(r, c).currentText()  # type: ignore[union-attr]
            elif kind == "bool":
                value = self.table.item(r, c).checkState() == Qt.CheckState.Checked
            else:
                item = self.table.item(r, c)
                value = item.text().strip() if item is not None else ""
                if kind == "int" and value != "":
                    if not re.fullmatch(r"\d+", value):
                        msg = tr("Stage {stage}, viewport {cell}: {column} must be a whole "
                                 "number ({value})")
                        raise hanging.HangingError(msg.format(
                            stage=self.stage_row + 1, cell=r + 1, column=tr(label), value=value))
                    value = int(value)
                elif key == "modality":
                    value = _words(value)
            if value in ("", [], None) or DEFAULTS.get(key, object()) == value:
                continue
            rule[key] = value
        return rule

    # ---------------------------------------------------------------- saving
    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.status.setText("")

    def save(self) -> bool:
        """Validate and save the protocol in the form to the user's file; True when saved."""
        if not 0 <= self.current < len(self.protocols):
            return False
        try:
            raw = self.form_raw()
            if not raw["name"]:
                raise hanging.HangingError(tr("The protocol needs a name"))
            if not raw["stage"]:
                raise hanging.HangingError(tr("The protocol needs at least one stage"))
            old = self.protocols[self.current].name
            if raw["name"] != old and raw["name"] in self.protocol_names():
                raise hanging.HangingError(
                    tr("Another protocol is already called {name}").format(name=raw["name"]))
            table = dict(raw) if self.enabled.isChecked() else {**raw, "enabled": False}
            path = hanging.save_user_protocol(table, self.user_file)
            if old != raw["name"] and self.protocols[self.current].origin == "user":
                hanging.remove_user_protocol(old, self.user_file)  # renamed
        except hanging.HangingError as exc:
            self.show_error(str(exc))
            return False
        except OSError as exc:
            self.show_error(tr("Cannot write {path}: {error}").format(
                path=self.user_file, error=exc))
            return False
        log.info("hanging protocol saved to the user's file")
        self.error.setText("")
        self.reload(select=raw["name"])
        self.status.setText(tr("Saved to {path}").format(path=path))
        self.saved.emit(raw["name"])
        return True

    def restore_default(self) -> None:
        """Drop the user's copy of the shown protocol: the default applies again (a protocol
        only the user has is deleted; one never saved is just dropped from the list)."""
        if not 0 <= self.current < len(self.protocols):
            return
        p = self.protocols[self.current]
        try:
            removed = hanging.remove_user_protocol(p.name, self.user_file)
        except (hanging.HangingError, OSError) as exc:
            self.show_error(str(exc))
            return
        self.reload(select=p.name)
        text = (tr("Default restored: {name}") if p.origin == "user over default"
                else tr("Deleted: {name}"))
        self.status.setText(text.format(name=p.name))
        if removed:
            self.saved.emit(p.name)
