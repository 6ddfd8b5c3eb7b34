"""Hanging protocols: rule choice and series placement (Qt-free), and in the main window."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from viewer.dicom.phantom import write_phantom_series
from viewer.ui.hanging import (
    HangingRule,
    hang,
    load_protocols,
    save_user_protocols,
    user_protocols_path,
)


@dataclass(eq=False)
class S:
    modality: str
    description: str
    number: int
    n: int = 10
    instances: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.instances = list(range(self.n))


def test_ct_hangs_the_largest_series_first_then_the_next() -> None:
    scout, thin = S("CT", "Scout", 1, 2), S("CT", "Thorax 1mm", 2, 300)
    thick = S("CT", "5mm", 3, 60)
    rule, hung = hang([scout, thin, thick], rules=load_protocols())
    assert rule.name == "CT" and rule.layout == "1x2"
    assert hung == [thin, scout]


def test_ct_with_a_prior_puts_the_prior_beside_the_current() -> None:
    current, prior = S("CT", "Thorax", 2, 300), S("CT", "Thorax", 2, 250)
    rule, hung = hang([current], priors=[[prior]], rules=load_protocols())
    assert rule.name == "CT with prior"
    assert hung[0] is current and hung[1] is prior


def test_mammography_hangs_views_by_description() -> None:
    lmlo, rcc, lcc, rmlo = (S("MG", d, n, 1) for n, d in enumerate(["L MLO", "R CC", "L CC",
                                                                     "R MLO"]))
    rule, hung = hang([lmlo, rcc, lcc, rmlo], rules=load_protocols())
    assert rule.layout == "2x2"
    assert [s.description for s in hung] == ["R CC", "L CC", "R MLO", "L MLO"]


def test_mr_fills_four_viewports_in_series_order_and_unknown_gets_the_default() -> None:
    series = [S("MR", f"s{n}", n) for n in (4, 1, 3, 2, 5)]
    rule, hung = hang(series, rules=load_protocols())
    assert rule.layout == "2x2" and [s.number for s in hung] == [1, 2, 3, 4]
    rule, hung = hang([S("US", "echo", 1)], rules=load_protocols())
    assert rule.name == "Default" and rule.layout == "1x1"


def test_user_rules_are_saved_per_user_and_tried_first() -> None:
    mine = HangingRule(name="My CT", layout="mpr", cells=["largest"], modality=["CT"])
    path = save_user_protocols([mine])
    assert path == user_protocols_path() and path.exists()
    rules = load_protocols()
    assert rules[0].name == "My CT"
    rule, _ = hang([S("CT", "x", 1)], rules=rules)
    assert rule.layout == "mpr"


def test_invalid_rules_are_refused_with_their_name() -> None:
    with pytest.raises(ValueError, match="Bad"):
        HangingRule(name="Bad", layout="3x3", cells=["largest"])
    with pytest.raises(ValueError, match="selector"):
        HangingRule(name="Bad2", layout="1x1", cells=["biggest"])
    user_protocols_path().parent.mkdir(parents=True, exist_ok=True)
    user_protocols_path().write_text("[[protocol]]\nname = 'x'\nlayout = '9x9'\ncells = []\n")
    assert load_protocols()[0].name != "x"  # a broken user file is skipped, defaults stay


@pytest.mark.gui
def test_main_window_opens_a_study_and_its_prior_side_by_side(qtbot, qapp,
                                                              tmp_path: Path) -> None:
    common = dict(columns=96, rows=96, slices=30, slice_mm=5.0, patient_id="PRI-1",
                  patient_name="PRIOR^PATIENT")
    write_phantom_series(tmp_path / "new", study_uid="1.2.826.0.1.3680043.10.1.1",
                         series_description="New CT", extra={"StudyDate": "20250101"},
                         **common)
    write_phantom_series(tmp_path / "old", study_uid="1.2.826.0.1.3680043.10.1.2",
                         series_description="Old CT", extra={"StudyDate": "20200101"},
                         **common)
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    win.quiet = True
    qtbot.addWidget(win)
    win.show()
    win.load_viewers()
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(tmp_path)
    assert win.hanging_rule.name == "CT with prior"
    assert win.grid.layout_name == "1x2"
    left, right = (vp.model.demographics for vp in win.grid.viewports)
    assert (left.study_date, left.series_description) == ("20250101", "New CT")
    assert (right.study_date, right.series_description) == ("20200101", "Old CT")
    win.close()
