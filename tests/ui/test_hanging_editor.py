"""The hanging-protocol editor in a real window: edits are validated, saved to the user's
file (viewer.hanging), and the next hanging follows them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.ui.station import station_showing
from viewer import hanging
from viewer.dicom.phantom import write_phantom_series
from viewer.hanging import StudyInfo, display_set, hang, load_protocols

pytestmark = pytest.mark.gui


def ct_study() -> StudyInfo:
    sets = tuple(display_set(uid=f"s{n}", study_uid="st", modality="CT", number=n,
                             orientation="axial", slice_spacing=float(n), images=100,
                             description=f"Axial {n}") for n in (1, 2))
    return StudyInfo("st", "20250101", "", sets)


@pytest.fixture
def editor(qtbot, qapp):
    from viewer.ui.hanging_editor import HangingEditor

    ed = HangingEditor()
    qtbot.addWidget(ed)
    ed.show()
    qtbot.waitExposed(ed)
    return ed


def _set_cell(ed, row: int, column: str, text: str) -> None:
    from viewer.ui.hanging_editor import COLUMNS

    col = [c[0] for c in COLUMNS].index(column)
    widget = ed.table.cellWidget(row, col)
    if widget is not None:
        widget.setCurrentText(text)
    else:
        ed.table.item(row, col).setText(text)


def _two_ct_cells(ed) -> None:
    """The CT protocol's first stage becomes 1x2: thinnest CT left, thickest right."""
    ed.select("CT")
    assert ed.layout_combo.currentText() == "mpr"
    ed.layout_combo.setCurrentText("1x2")
    ed.stage_name.setText("Thin and thick")
    ed.add_viewport({"modality": ["CT"], "choose": "last"})
    _set_cell(ed, 1, "choose", "most_images")
    _set_cell(ed, 1, "index", "0")


def test_lists_every_protocol_and_its_rules(editor) -> None:
    assert {"Mammography", "CT", "MR", "CR/DX", "CR/DX with prior", "Default"} <= set(
        editor.protocol_names())
    editor.select("Mammography")
    assert editor.match_modality.text() == "MG"
    assert editor.stage_list.count() == 3
    assert editor.table.rowCount() == 4  # four views
    raw = editor.form_raw()
    assert raw["stage"][0]["viewport"][2] == {"modality": ["MG"], "laterality": "R",
                                              "view": "MLO",
                                              "chest_wall": "right", "mirror": True,
                                              "head_up": True}
    editor.stage_list.setCurrentRow(1)
    assert editor.stage_min_priors.value() == 1
    assert editor.form_raw()["stage"][1]["viewport"][2]["study"] == "prior"


def test_saved_protocol_hangs_a_study_differently(qtbot, editor, regard_home: Path) -> None:
    (before,) = hang(ct_study(), [], load_protocols())
    assert before.layout == "mpr"
    _two_ct_cells(editor)
    with qtbot.waitSignal(editor.saved, timeout=5000) as sig:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["CT"] and editor.error.text() == ""
    user_file = regard_home / "hanging-protocols.toml"
    saved = tomllib.loads(user_file.read_text())["protocol"]
    assert [p["name"] for p in saved] == ["CT"]
    assert saved[0]["stage"][0]["layout"] == "1x2"
    (after, *_rest) = hang(ct_study(), [], load_protocols())
    assert (after.protocol, after.stage, after.layout) == ("CT", "Thin and thick", "1x2")
    assert [c.display_set.uid for c in after.cells] == ["s1", "s2"]
    assert "yours" in editor.list.currentItem().text()
    # restoring the default drops the user's copy
    qtbot.mouseClick(editor.restore_button, Qt.MouseButton.LeftButton)
    (again,) = hang(ct_study(), [], load_protocols())
    assert again.layout == "mpr"


@pytest.mark.parametrize(("change", "message"), [
    (lambda ed: ed.layout_combo.setCurrentText("5x5"), "stage 1: layout must be"),
    (lambda ed: _set_cell(ed, 0, "index", "two"), "Index must be a whole number"),
    (lambda ed: ed.match_body.setText("head("), "not a valid regular expression"),
    (lambda ed: _set_cell(ed, 0, "series_description", "t1[("), "viewport 1: series_desc"),
    (lambda ed: ed.name.setText("MR"), "already called MR"),
    (lambda ed: ed.layout_combo.setCurrentText("1x1") or ed.add_viewport({}),
     "2 viewport rules for a 1x1 layout"),
])
def test_invalid_edits_are_refused_with_a_clear_error(qtbot, editor, regard_home: Path,
                                                      change, message: str) -> None:
    editor.select("CT")
    change(editor)
    assert editor.save() is False
    assert message in editor.error.text()
    assert not (regard_home / "hanging-protocols.toml").exists()
    (stage,) = hang(ct_study(), [], load_protocols())
    assert stage.layout == "mpr"


def test_new_protocol_with_stages_and_a_switched_off_default(qtbot, editor) -> None:
    editor.new_protocol()
    editor.name.setText("Chest CT")
    editor.priority.setValue(50)
    editor.match_modality.setText("ct")
    editor.match_desc.setText("thorax|chest")
    editor.add_stage()
    editor.layout_combo.setCurrentText("2x1")
    editor.add_viewport({"study": "current"})
    assert editor.stage_list.count() == 2
    editor.move_stage(-1)
    assert editor.save(), editor.error.text()
    chest = next(p for p in load_protocols() if p.name == "Chest CT")
    assert chest.match.modality == ("CT",) and chest.priority == 50
    assert [s.layout for s in chest.stages] == ["2x1", "1x1"]
    # switching a default off keeps it listed (to switch on again), out of the hanging
    editor.select("MR")
    editor.enabled.setChecked(False)
    assert editor.save(), editor.error.text()
    assert "MR" not in [p.name for p in load_protocols()]
    assert "MR" in editor.protocol_names()
    assert hanging.editable_protocols()[-1].enabled is False
    # a protocol of the user's own can be deleted (a default only restored)
    editor.select("Chest CT")
    assert editor.delete_button.isEnabled() and not editor.restore_button.isEnabled()
    qtbot.mouseClick(editor.delete_button, Qt.MouseButton.LeftButton)
    assert "Chest CT" not in editor.protocol_names()
    assert "Chest CT" not in [p.name for p in load_protocols()]
    editor.select("MR")
    assert not editor.delete_button.isEnabled() and editor.restore_button.isEnabled()


def test_the_main_window_hangs_again_after_a_save(qtbot, qapp, tmp_path: Path) -> None:
    for n, (desc, mm) in enumerate((("Thin CT", 2.0), ("Thick CT", 5.0))):
        write_phantom_series(tmp_path / desc, study_uid="1.2.826.0.1.3680043.10.1.31",
                             series_uid=f"1.2.826.0.1.3680043.10.1.31.{n + 1}",
                             series_description=desc, columns=64, rows=64, slices=16,
                             slice_mm=mm, patient_id="EDIT-1", extra={"SeriesNumber": n + 1})
    win = station_showing(qtbot, tmp_path)
    assert win.grid.layout_name == "mpr"
    ed = win.edit_hanging_protocols()
    qtbot.waitExposed(ed)
    _two_ct_cells(ed)
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        qtbot.mouseClick(ed.save_button, Qt.MouseButton.LeftButton)
    assert win.grid.layout_name == "1x2"
    assert [vp.model.demographics.series_description for vp in win.grid.viewports] == [
        "Thin CT", "Thick CT"]
    assert [vp.model.volume.dims[2] for vp in win.grid.viewports] == [16, 16]
    ed.close()
    win.close()
