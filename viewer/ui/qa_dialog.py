"""Per-screen display QA: TG18 patterns full-screen, measured luminances, evaluation (issue 5).

AAPM TG18 (STANDARDS.md): the TG18-QC-like image and the 18 TG18-LN patches are
shown full-screen, one image pixel per panel pixel (:mod:`viewer.display.fullscreen`),
through the screen's GSDF presentation LUT when software calibration is on.
The 18 luminances measured with a photometer (and the ambient luminance) are
typed in the table or imported from CSV/JSON (:func:`viewer.display.qa.read_measurements`),
evaluated against the GSDF and the policy's limits (:func:`viewer.display.qa.evaluate`),
and kept per screen (:mod:`viewer.display.qa_store`). The dialog says when the
screen's last QA is older than the site's period.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QScreen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.display import patterns, qa, qa_store
from viewer.display.fullscreen import PatternWindow, gray_qimage, physical_size
from viewer.display.policy import DisplayPolicy, load_policy
from viewer.display.screens import ScreenInfo, from_qscreen
from viewer.ui.i18n import N_, tr

log = logging.getLogger(__name__)

ROLE_NAMES = {"diagnostic": N_("diagnostic"), "mammography": N_("mammography"),
              "review": N_("review")}
PASS_STYLE = "color: white; background: #007000; font-weight: bold; padding: 4px;"
FAIL_STYLE = "color: white; background: #c00000; font-weight: bold; padding: 4px;"
DUE_STYLE = "color: #a04000; font-weight: bold;"
T_NEVER = N_("The QA of this screen has never been done (period {period} days).")
T_DUE = N_("The QA of this screen is due: last on {date}, {age} days ago (period {period} days).")
T_LN_HELP = N_("TG18-LN{number:02d}: arrows or Space for the next patch, Esc or a click to close")

T_LAST = N_("Last QA: {date}, {outcome}, largest deviation {dev} at patch {level}")
T_WORST = N_("Largest deviation from the GSDF: {dev} (tolerance {tol}) between patches {a} and {b}")


def pattern_pixels(kind: str, number: int, screen: QScreen, calibrated: bool = True) -> Any:
    """8-bit driving levels of a TG18 pattern at ``screen``'s native size (through its LUT)."""
    w, h = physical_size(screen)
    img = patterns.tg18_qc(w, h) if kind == "qc" else patterns.tg18_ln(number, w, h)
    pixels = patterns.to_display(img, 8)
    lut = qa_store.presentation_lut_for(from_qscreen(screen)) if calibrated else None
    if lut is not None and lut.max_ddl == 255:
        pixels = lut.apply(pixels).astype(np.uint8)
    return pixels.astype(np.uint8)


class LNSeriesWindow(PatternWindow):
    """TG18-LN patches full-screen 1:1; arrows/Space step through the 18, Esc closes."""

    numberChanged = Signal(int)

    def __init__(self, number: int, screen: QScreen, calibrated: bool = True) -> None:
        self.number = number
        self.calibrated = calibrated
        super().__init__(pattern_pixels("ln", number, screen, calibrated), screen)
        self.setTitle(tr(T_LN_HELP).format(number=number))

    def set_number(self, number: int) -> None:
        number = max(1, min(len(patterns.LN_LEVELS), number))
        if number == self.number:
            return
        self.number = number
        screen = self.screen()
        self._image = gray_qimage(pattern_pixels("ln", number, screen, self.calibrated),
                                  screen.devicePixelRatio())
        self.setTitle(tr(T_LN_HELP).format(number=number))
        self.update()
        self.numberChanged.emit(number)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            self.set_number(self.number + 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_PageUp, Qt.Key.Key_Backspace):
            self.set_number(self.number - 1)
        else:
            self.close()


class ScreenQADialog(QDialog):
    """Display QA of one screen: patterns, measurements, evaluation, history."""

    def __init__(self, parent: QWidget | None = None, policy: DisplayPolicy | None = None,
                 measured_by: str = "", screen: QScreen | None = None) -> None:
        super().__init__(parent)
        self.policy = policy or load_policy()
        self.measured_by = measured_by
        self.result: qa.QAResult | None = None
        self.pattern_window: PatternWindow | None = None
        self.setWindowTitle(tr("Screen QA"))
        self.resize(720, 760)

        self.screen_combo = QComboBox()
        for s in QGuiApplication.screens():
            w, h = physical_size(s)
            self.screen_combo.addItem(f"{s.name() or '?'}  {w}x{h}", s)
        self.screen_combo.currentIndexChanged.connect(self._screen_chosen)
        self.reminder_label = QLabel("")
        self.reminder_label.setWordWrap(True)
        self.last_label = QLabel("")
        self.last_label.setWordWrap(True)

        self.qc_button = QPushButton(tr("Show TG18-QC"))
        self.qc_button.clicked.connect(lambda: self.show_pattern("qc"))
        self.ln_spin = QSpinBox()
        self.ln_spin.setRange(1, len(patterns.LN_LEVELS))
        self.ln_button = QPushButton(tr("Show TG18-LN"))
        self.ln_button.clicked.connect(lambda: self.show_pattern("ln", self.ln_spin.value()))
        patterns_row = QHBoxLayout()
        patterns_row.addWidget(self.qc_button)
        patterns_row.addWidget(QLabel(tr("Patch")))
        patterns_row.addWidget(self.ln_spin)
        patterns_row.addWidget(self.ln_button)
        patterns_row.addStretch(1)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([tr("Pattern"), tr("Level"),
                                              tr("Luminance (cd/m²)")])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.set_levels([float(v) for v in qa.TG18_LN_LEVELS])
        self.ambient = QDoubleSpinBox()
        self.ambient.setDecimals(3)
        self.ambient.setRange(0.0, 1000.0)
        self.ambient.setSuffix(" cd/m²")
        self.role = QComboBox()
        for name in qa.ROLES:
            self.role.addItem(tr(ROLE_NAMES[name]), name)
        form = QFormLayout()
        form.addRow(tr("Ambient luminance"), self.ambient)
        form.addRow(tr("Screen role"), self.role)

        self.import_button = QPushButton(tr("Import CSV/JSON..."))
        self.import_button.clicked.connect(self._import_clicked)
        self.evaluate_button = QPushButton(tr("Evaluate"))
        self.evaluate_button.clicked.connect(self.evaluate)
        self.save_button = QPushButton(tr("Save the result"))
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        actions = QHBoxLayout()
        for b in (self.import_button, self.evaluate_button, self.save_button):
            actions.addWidget(b)
        actions.addStretch(1)
        self.verdict_label = QLabel("")
        self.details_label = QLabel("")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QFormLayout()
        top.addRow(tr("Screen"), self.screen_combo)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.reminder_label)
        lay.addWidget(self.last_label)
        lay.addLayout(patterns_row)
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addLayout(actions)
        lay.addWidget(self.verdict_label)
        lay.addWidget(self.details_label)
        if screen is not None:
            self.select_screen(screen)
        self._screen_chosen()

    # -- the screen ----------------------------------------------------------------------
    def qscreen(self) -> QScreen:
        return self.screen_combo.currentData() or QGuiApplication.primaryScreen()

    def screen_info(self) -> ScreenInfo:
        return from_qscreen(self.qscreen())

    def select_screen(self, screen: QScreen) -> None:
        for i in range(self.screen_combo.count()):
            if self.screen_combo.itemData(i) is screen:
                self.screen_combo.setCurrentIndex(i)

    def _screen_chosen(self, *_args: object) -> None:
        self.result = None
        self.save_button.setEnabled(False)
        self.verdict_label.clear()
        self.verdict_label.setStyleSheet("")
        self.details_label.clear()
        self.refresh_history()

    def reminder_text(self, now: dt.datetime | None = None) -> str | None:
        """The overdue reminder in the UI language (None when the QA is up to date)."""
        info = self.screen_info()
        try:
            due = qa_store.reminder(info, self.policy, now)
            latest = qa_store.last(info)
        except ValueError as exc:  # unreadable record: say so
            return str(exc)
        if due is None:
            return None
        period = int(self.policy.qa.get("period_days", 90))
        if latest is None:
            return tr(T_NEVER).format(period=period)
        when = dt.datetime.fromisoformat(latest["date"])
        age = ((now or dt.datetime.now(dt.UTC)) - when).days
        return tr(T_DUE).format(date=when.date().isoformat(), age=age, period=period)

    def refresh_history(self, now: dt.datetime | None = None) -> None:
        text = self.reminder_text(now)
        self.reminder_label.setText(text or "")
        self.reminder_label.setStyleSheet(DUE_STYLE if text else "")
        self.reminder_label.setVisible(bool(text))
        try:
            latest = qa_store.last(self.screen_info())
        except ValueError:
            latest = None
        if latest is None:
            self.last_label.setText(tr("No QA result recorded for this screen."))
            return
        outcome = tr("passed") if latest.get("pass") else tr("failed")
        self.last_label.setText(tr(T_LAST).format(
            date=str(latest["date"])[:10], outcome=outcome,
            dev=f"{100 * float(latest.get('max_deviation', 0)):.1f} %",
            level=latest.get("worst_level", "?")))

    # -- patterns --------------------------------------------------------------------------
    def show_pattern(self, kind: str, number: int = 1) -> PatternWindow:
        """Full-screen pattern on the chosen screen, 1:1 (closes with a key or a click)."""
        screen = self.qscreen()
        if self.pattern_window is not None:
            self.pattern_window.close()
        if kind == "ln":
            window: PatternWindow = LNSeriesWindow(number, screen)
            window.numberChanged.connect(self._patch_shown)  # type: ignore[attr-defined]
            self._patch_shown(number)
        else:
            window = PatternWindow(pattern_pixels("qc", 1, screen), screen)
        window.showFullScreen()
        self.pattern_window = window
        return window

    def _patch_shown(self, number: int) -> None:
        self.ln_spin.setValue(number)
        if number - 1 < self.table.rowCount():
            self.table.selectRow(number - 1)
            self.table.setCurrentCell(number - 1, 2)

    # -- measurements -----------------------------------------------------------------------
    def set_levels(self, levels: list[float]) -> None:
        self.table.setRowCount(len(levels))
        tg18 = [float(v) for v in qa.TG18_LN_LEVELS] == [float(v) for v in levels]
        for row, level in enumerate(levels):
            name = f"TG18-LN12-{row + 1:02d}" if tg18 else str(row + 1)
            for col, text in ((0, name), (1, f"{level:g}")):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, col, item)
            self.table.setItem(row, 2, QTableWidgetItem(""))

    def set_luminances(self, values: list[float]) -> None:
        for row, value in enumerate(values[: self.table.rowCount()]):
            self.table.item(row, 2).setText(f"{value:g}")

    def measurements(self) -> qa.Measurements:
        """What the table holds; MeasurementError names the first empty or bad cell."""
        levels, lums = [], []
        for row in range(self.table.rowCount()):
            text = (self.table.item(row, 2).text() or "").strip().replace(",", ".")
            name = self.table.item(row, 0).text()
            if not text:
                raise qa.MeasurementError(tr("No luminance for {patch}").format(patch=name))
            try:
                lums.append(float(text))
            except ValueError as exc:
                raise qa.MeasurementError(tr("{patch}: {value} is not a number").format(
                    patch=name, value=text)) from exc
            levels.append(float(self.table.item(row, 1).text()))
        m = qa.Measurements(levels, lums, float(self.ambient.value()),
                            str(self.role.currentData()), screen=self.screen_info().to_dict())
        m.validate()
        return m

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Import measured luminances"), "",
                                              tr("Measurements (*.csv *.json);;All files (*)"))
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> bool:
        """Fill the table from a CSV/JSON measurement file (the message names a bad file)."""
        try:
            m = qa.read_measurements(path)
        except qa.MeasurementError as exc:
            self._show_error(str(exc))
            return False
        self.set_levels([float(v) for v in m.levels])
        self.set_luminances([float(v) for v in m.luminances])
        self.ambient.setValue(float(m.ambient))
        if m.role in qa.ROLES:
            self.role.setCurrentIndex(self.role.findData(m.role))
        self.details_label.setText(tr("Imported {n} measurements from {file}").format(
            n=len(m.luminances), file=path.name))
        self.details_label.setStyleSheet("")
        return True

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self) -> qa.QAResult | None:
        try:
            self.result = qa.evaluate(self.measurements(), policy=self.policy)
        except qa.MeasurementError as exc:
            self.result = None
            self.save_button.setEnabled(False)
            self._show_error(str(exc))
            return None
        r = self.result
        self.verdict_label.setText(tr("PASS") if r.passed else tr("FAIL"))
        self.verdict_label.setStyleSheet(PASS_STYLE if r.passed else FAIL_STYLE)
        lines = [
            tr(T_WORST).format(
                dev=f"{100 * r.max_deviation:.1f} %", tol=f"{100 * r.tolerance:.0f} %",
                a=r.worst_level - 1, b=r.worst_level),
            tr("Lmax {lmax} cd/m², Lmin {lmin} cd/m², luminance ratio {ratio}").format(
                lmax=f"{r.lmax:.4g}", lmin=f"{r.lmin:.4g}", ratio=f"{r.ratio:.4g}"),
        ]
        lines += r.failures
        self.details_label.setText("\n".join(lines))
        self.details_label.setStyleSheet("")
        self.save_button.setEnabled(True)
        rows = self.table.rowCount()
        for row in range(rows):
            item = self.table.item(row, 2)
            bad = not r.passed and row == r.worst_level - 1 and r.max_deviation > r.tolerance
            item.setBackground(Qt.GlobalColor.red if bad else Qt.GlobalColor.white)
        return r

    def save(self) -> Path | None:
        """Keep the evaluated result for this screen (history and reminder follow)."""
        if self.result is None:
            return None
        try:
            path = qa_store.record(self.screen_info(), self.result, measured_by=self.measured_by)
        except (OSError, ValueError) as exc:
            self._show_error(str(exc))
            return None
        self.save_button.setEnabled(False)
        self.refresh_history()
        return path

    def _show_error(self, text: str) -> None:
        self.details_label.setText(text)
        self.details_label.setStyleSheet("color: #c00000; font-weight: bold;")

    def done(self, code: int) -> None:
        if self.pattern_window is not None:
            self.pattern_window.close()
            self.pattern_window = None
        super().done(code)
