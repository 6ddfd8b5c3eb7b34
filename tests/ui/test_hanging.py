"""Hanging protocols as the main window uses them (``viewer.hanging``): CT opens in MPR, a
study and its prior side by side, per-user saved protocols tried first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.station import station_showing, station_window
from viewer.dicom.phantom import write_phantom_series
from viewer.hanging import StudyInfo, display_set, hang, load_protocols, save_user_protocol


def ct(uid: str, date: str) -> StudyInfo:
    sets = (
        display_set(uid=f"{uid}.scout", study_uid=uid, modality="CT", number=1),
        display_set(uid=f"{uid}.thin", study_uid=uid, modality="CT", number=2,
                    orientation="axial", slice_spacing=1.0, images=300),
    )
    return StudyInfo(uid, date, "", sets)


def test_ct_opens_in_mpr_and_with_a_prior_has_a_side_by_side_stage() -> None:
    (only,) = hang(ct("a", "20250101"), [], load_protocols())
    assert only.mpr and [c.display_set.uid for c in only.cells] == ["a.thin"]
    stages = hang(ct("a", "20250101"), [ct("b", "20200101")], load_protocols())
    side = next(h for h in stages if any(c.prior for c in h.cells))
    assert side.layout == "1x2"
    assert [c.display_set.uid for c in side.cells] == ["a.thin", "b.thin"]


def test_a_users_saved_protocol_is_used_for_that_user_only(tmp_path: Path) -> None:
    mine = {"name": "My CT", "priority": 99, "match": {"modality": ["CT"]},
            "stage": [{"name": "Two", "layout": "1x2",
                       "viewport": [{"modality": "CT"}, {"modality": "CT"}]}]}
    path = save_user_protocol(mine)
    assert path.exists()
    (stage,) = hang(ct("a", "20250101"), [], load_protocols())
    assert (stage.protocol, stage.layout) == ("My CT", "1x2")
    other = tmp_path / "nobody.toml"  # another user's (absent) file: the defaults
    (stage,) = hang(ct("a", "20250101"), [], load_protocols(user=other))
    assert (stage.protocol, stage.layout) == ("CT", "mpr")


def write_ct_and_prior(folder: Path, patient_id: str, patient_name: str, new_uid: str,
                       old_uid: str) -> None:
    """A patient's CT of 2025 ("New CT") and its prior of 2020 ("Old CT") under ``folder``."""
    common = dict(columns=96, rows=96, slices=30, slice_mm=5.0, patient_id=patient_id,
                  patient_name=patient_name)
    write_phantom_series(folder / "new", study_uid=new_uid, series_description="New CT",
                         extra={"StudyDate": "20250101"}, **common)
    write_phantom_series(folder / "old", study_uid=old_uid, series_description="Old CT",
                         extra={"StudyDate": "20200101"}, **common)


@pytest.mark.gui
def test_main_window_opens_a_study_and_its_prior_side_by_side(qtbot, qapp,
                                                              tmp_path: Path) -> None:
    write_ct_and_prior(tmp_path, "PRI-1", "PRIOR^PATIENT",
                       "1.2.826.0.1.3680043.10.1.1", "1.2.826.0.1.3680043.10.1.2")
    win = station_showing(qtbot, tmp_path)
    assert win.hanging_rule.protocol == "CT" and win.hanging_rule.layout == "1x2"
    assert win.grid.layout_name == "1x2"
    left, right = (vp.model.demographics for vp in win.grid.viewports)
    assert (left.study_date, left.series_description) == ("20250101", "New CT")
    assert (right.study_date, right.series_description) == ("20200101", "Old CT")
    win.close()


@pytest.mark.gui
def test_main_window_opens_a_ct_without_prior_in_mpr(qtbot, qapp, tmp_path: Path) -> None:
    write_phantom_series(tmp_path / "ct", study_uid="1.2.826.0.1.3680043.10.1.3",
                         series_description="Lone CT", columns=64, rows=64, slices=20,
                         slice_mm=2.0, patient_id="MPR-1")
    win = station_showing(qtbot, tmp_path)
    assert win.hanging_rule.layout == "mpr" and win.grid.layout_name == "mpr"
    planes = {vp.model.plane_name for vp in win.grid.viewports[:3]}
    assert planes == {"axial", "coronal", "sagittal"}
    win.close()


@pytest.mark.gui
def test_main_window_hangs_mammograms_back_to_back(qtbot, qapp, tmp_path: Path) -> None:
    """Four views in a 2x2, flipped from Patient Orientation (0020,0020) so the chest walls
    face each other (PS3.3 C.8.11.7) and the MLO heads are up."""
    views = {"rcc": ("R", "CC", ["A", "R"]), "lcc": ("L", "CC", ["A", "L"]),
             "rmlo": ("R", "MLO", ["A", "H"]), "lmlo": ("L", "MLO", ["P", "F"])}
    for n, (name, (lat, view, po)) in enumerate(views.items()):
        write_phantom_series(
            tmp_path / name, study_uid="1.2.826.0.1.3680043.10.1.9", columns=48, rows=48,
            slices=1, series_description=name, patient_id="MG-1", modality="MG",
            series_uid=f"1.2.826.0.1.3680043.10.1.9.{n + 1}",
            extra={"ImageLaterality": lat, "ViewPosition": view, "PatientOrientation": po,
                   "SeriesNumber": n + 1})
    win = station_showing(qtbot, tmp_path)
    assert (win.hanging_rule.protocol, win.grid.layout_name) == ("Mammography", "2x2")
    models = [vp.model for vp in win.grid.viewports]
    assert [m.demographics.series_description for m in models] == list(views)
    assert [(m.flip_h, m.flip_v) for m in models] == [(True, False), (False, False),
                                                     (True, True), (True, False)]
    win.close()


def _shortcuts(win) -> dict[str, list]:
    keys: dict[str, list] = {}
    for act in win.actions():
        if not act.shortcut().isEmpty():
            keys.setdefault(act.shortcut().toString(), []).append(act)
    return keys


def _shows_phantom(vp) -> bool:
    vp.render_now()
    rgb = vp.capture()
    return rgb.std() > 20 and (rgb > 200).any()  # the body and its bright bones, not black


@pytest.mark.gui
def test_next_and_previous_stage_rehang_the_study(qtbot, qapp, tmp_path: Path) -> None:
    """CT with a prior opens side by side (stage 2/2 of the CT protocol); N hangs the MPR
    stage (three planes of the current CT), N again wraps round, Shift+N steps back."""
    write_ct_and_prior(tmp_path, "STG-1", "STAGE^PATIENT",
                       "1.2.826.0.1.3680043.10.1.21", "1.2.826.0.1.3680043.10.1.22")
    win = station_window(qtbot)
    keys = _shortcuts(win)
    # single-key shortcuts are ambiguous (and then do nothing) when two actions share one
    assert [k for k, acts in keys.items() if len(acts) > 1] == []
    assert keys["N"] == [win.stage_actions["next"]]
    assert keys["Shift+N"] == [win.stage_actions["previous"]]
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(tmp_path)
    assert (win.hanging_rule.stage, win.grid.layout_name) == ("Comparison with prior", "1x2")

    with qtbot.waitSignal(win.images_shown, timeout=60000):
        keys["N"][0].trigger()
    assert (win.hanging_rule.stage, win.grid.layout_name) == ("MPR", "mpr")
    assert win.layout_actions["mpr"].isChecked()
    views = win.grid.viewports[:3]
    assert {vp.model.plane_name for vp in views} == {"axial", "coronal", "sagittal"}
    assert {vp.model.demographics.series_description for vp in views} == {"New CT"}
    assert all(_shows_phantom(vp) for vp in views)
    assert "MPR" in win.statusBar().currentMessage()

    with qtbot.waitSignal(win.images_shown, timeout=60000):
        keys["N"][0].trigger()  # wraps round to the first stage shown
    assert (win.hanging_rule.stage, win.grid.layout_name) == ("Comparison with prior", "1x2")
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        keys["Shift+N"][0].trigger()
    assert win.grid.layout_name == "mpr"
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        keys["Shift+N"][0].trigger()
    assert win.grid.layout_name == "1x2"
    left, right = win.grid.viewports[:2]
    assert (left.model.demographics.series_description,
            right.model.demographics.series_description) == ("New CT", "Old CT")
    assert _shows_phantom(left) and _shows_phantom(right)
    win.close()


@pytest.mark.gui
def test_a_single_stage_protocol_says_so_and_keeps_the_hanging(qtbot, qapp,
                                                              tmp_path: Path) -> None:
    write_phantom_series(tmp_path / "ct", study_uid="1.2.826.0.1.3680043.10.1.23",
                         columns=48, rows=48, slices=10, slice_mm=3.0, patient_id="STG-2")
    win = station_window(qtbot)
    assert win.show_stage(1) is None  # nothing hung yet
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(tmp_path)
    assert win.grid.layout_name == "mpr"
    assert win.show_stage(1) is None
    assert "single stage" in win.statusBar().currentMessage()
    assert win.grid.layout_name == "mpr"
    win.close()


@pytest.mark.gui
def test_a_stage_switch_shows_loaded_series_again_from_the_first_cell(qtbot, qapp,
                                                                      tmp_path: Path) -> None:
    """Two stages of one study swap its series: N shows the volumes already decoded (the
    same objects, no load task) and fills the cells from the first one, even when the
    user last clicked the second."""
    for n, desc in enumerate(("Thin CT", "Thick CT")):
        write_phantom_series(tmp_path / desc, study_uid="1.2.826.0.1.3680043.10.1.24",
                             series_uid=f"1.2.826.0.1.3680043.10.1.24.{n + 1}",
                             series_description=desc, columns=64, rows=64, slices=12,
                             slice_mm=2.0 + 3 * n, patient_id="STG-3",
                             extra={"SeriesNumber": n + 1})
    save_user_protocol({"name": "Swap", "priority": 99, "match": {"modality": ["CT"]},
                        "stage": [{"name": "A", "layout": "1x2",
                                   "viewport": [{"series_description": "thin"},
                                                {"series_description": "thick"}]},
                                  {"name": "B", "layout": "1x2",
                                   "viewport": [{"series_description": "thick"},
                                                {"series_description": "thin"}]}]})
    win = station_window(qtbot)
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(tmp_path)
    assert win.hanging_rule.stage == "A"
    thin, thick = (vp.model.volume for vp in win.grid.viewports)
    assert (thin.meta["series_description"], thick.meta["series_description"]) == (
        "Thin CT", "Thick CT")
    win.grid.set_active(win.grid.viewports[1])  # the user clicked the right-hand image
    with qtbot.waitSignal(win.images_shown, timeout=10000):
        win.stage_actions["next"].trigger()
    assert not win.tasks  # nothing assembled again
    assert win.hanging_rule.stage == "B"
    left, right = win.grid.viewports
    assert left.model.volume is thick and right.model.volume is thin
    assert left.model.demographics.series_description == "Thick CT"
    assert _shows_phantom(left) and _shows_phantom(right)
    win.close()


def _views(study_uid: str) -> list[dict]:
    from viewer.access.journal import AuditJournal

    return [r.to_dict() for r in AuditJournal().records(actions=["view"])
            if study_uid in r.study_uids]


@pytest.mark.gui
def test_a_stage_switch_checks_and_records_only_series_not_viewed_yet(qtbot, qapp,
                                                                      tmp_path: Path) -> None:
    """Stage A shows the thin series, stage B thin + thick: N asks and records the VIEW of
    the thick series only (the thin one was checked and recorded when A opened), shows the
    thin volume already decoded, and the study stays under the screen-fitness watch."""
    study = "1.2.826.0.1.3680043.10.1.25"
    uids = [f"{study}.{n + 1}" for n in range(2)]
    for n, desc in enumerate(("Thin CT", "Thick CT")):
        write_phantom_series(tmp_path / desc, study_uid=study, series_uid=uids[n],
                             series_description=desc, columns=48, rows=48, slices=10,
                             slice_mm=2.0 + 3 * n, patient_id="STG-4",
                             extra={"SeriesNumber": n + 1})
    save_user_protocol({"name": "Grow", "priority": 99, "match": {"modality": ["CT"]},
                        "stage": [{"name": "A", "layout": "1x1",
                                   "viewport": [{"series_description": "thin"}]},
                                  {"name": "B", "layout": "1x2",
                                   "viewport": [{"series_description": "thin"},
                                                {"series_description": "thick"}]}]})
    win = station_window(qtbot)
    asked: list[list[str]] = []
    before_open = win.access_ui.before_open

    def spy(items):
        asked.append([s.series_uid for _r, s in filter(None, items)])
        return before_open(items)

    win.access_ui.before_open = spy
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(tmp_path)
    assert win.hanging_rule.stage == "A"
    thin = win.grid.viewports[0].model.volume
    assert [v["series_uids"] for v in _views(study)] == [[uids[0]]]
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.stage_actions["next"].trigger()
    assert win.hanging_rule.stage == "B"
    assert asked == [[uids[0]], [uids[1]]]  # the thin series was not asked for again
    assert [v["series_uids"] for v in _views(study)] == [[uids[0]], [uids[1]]]
    left, right = win.grid.viewports[:2]
    assert left.model.volume is thin  # shown again, not decoded again
    assert right.model.demographics.series_description == "Thick CT"
    assert _shows_phantom(left) and _shows_phantom(right)
    assert study in win.access_ui.opened  # still watched for the screen it is on
    # back and forth: everything was viewed, nothing asked or recorded again
    for key in ("previous", "next"):
        with qtbot.waitSignal(win.images_shown, timeout=60000):
            win.stage_actions[key].trigger()
        assert study in win.access_ui.opened
    assert len(asked) == 2 and len(_views(study)) == 2
    win.close()
