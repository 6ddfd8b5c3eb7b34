"""Hanging protocols: the defaults put the right series in the right cell; user files override.

Inputs are index-like display sets written out by hand (the series a CT, MR,
CR/DX or mammography study usually holds), a DicomIndex built from
``viewer.dicom.index`` dataclasses, and real Part 10 headers written with
pydicom for the tag reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from viewer.dicom.index import DicomIndex, InstanceEntry, SeriesEntry, StudyEntry
from viewer.hanging import (
    HangingError,
    StudyInfo,
    display_set,
    display_sets_from_series,
    hang,
    load_protocols,
    orientation_name,
    read_tags,
    save_user_protocol,
    studies_for,
    study_from_index,
    user_protocols_path,
)


def study(uid: str, date: str, *sets: dict) -> StudyInfo:
    return StudyInfo(uid, date, "", tuple(display_set(study_uid=uid, **s) for s in sets))


def ct_study(uid: str = "ct1", date: str = "20260110", thin: float = 1.0) -> StudyInfo:
    return study(
        uid, date,
        {"uid": f"{uid}.scout", "modality": "CT", "number": 1, "description": "Topogram"},
        {"uid": f"{uid}.ax5", "modality": "CT", "number": 2, "orientation": "axial",
         "slice_spacing": 5.0, "images": 60},
        {"uid": f"{uid}.thin", "modality": "CT", "number": 3, "orientation": "axial",
         "slice_spacing": thin, "images": 300},
        {"uid": f"{uid}.cor", "modality": "CT", "number": 4, "orientation": "coronal",
         "slice_spacing": 0.5, "images": 400},
    )


def uids(h) -> list[str | None]:
    return [c.display_set.uid if c.display_set else None for c in h.cells]


def test_defaults_load_and_a_ct_opens_in_mpr_on_the_thinnest_axial() -> None:
    protocols = load_protocols()
    assert {"CT", "MR", "CR/DX", "Mammography", "Default"} <= {p.name for p in protocols}
    stages = hang(ct_study(), [], protocols)
    assert len(stages) == 1
    assert stages[0].mpr and stages[0].protocol == "CT"
    assert uids(stages[0]) == ["ct1.thin"]


def test_ct_with_a_prior_adds_a_side_by_side_stage() -> None:
    prior = ct_study("ct0", "20250301", thin=1.25)
    later = ct_study("ct2", "20270101")  # not a prior: newer than the current study
    mr_prior = study("mr0", "20240101", {"uid": "mr0.a", "modality": "MR", "number": 1})
    stages = hang(ct_study(), [prior, later, mr_prior])
    assert [s.layout for s in stages] == ["mpr", "1x2"]
    assert uids(stages[1]) == ["ct1.thin", "ct0.thin"]
    assert [c.prior for c in stages[1].cells] == [False, True]
    # a prior of another modality only does not count for CT
    assert [s.layout for s in hang(ct_study(), [mr_prior])] == ["mpr"]


def test_mr_hangs_t1_t2_flair_dwi_by_description() -> None:
    mr = study(
        "mr1", "20260105",
        {"uid": "loc", "modality": "MR", "number": 0, "description": "localizer"},
        {"uid": "t2", "modality": "MR", "number": 2, "description": "t2_tse_tra"},
        {"uid": "t1", "modality": "MR", "number": 1, "description": "T1 SE sag"},
        {"uid": "dwi", "modality": "MR", "number": 5, "description": "ep2d_diff b1000 TRACE"},
        {"uid": "flair", "modality": "MR", "number": 3, "description": "T2 FLAIR tra"},
    )
    (first,) = hang(mr, [])
    assert first.layout == "2x2" and (first.rows, first.cols) == (2, 2)
    assert uids(first) == ["t1", "t2", "flair", "dwi"]


def test_mr_without_known_descriptions_gets_the_first_four_by_series_number() -> None:
    mr = study("mr1", "20260105", *[
        {"uid": f"s{n}", "modality": "MR", "number": n, "description": f"sequence {n}"}
        for n in (5, 3, 1, 4, 2)
    ])
    (first,) = hang(mr, [])
    assert uids(first) == ["s1", "s2", "s3", "s4"]


def test_mr_prior_comparison_matches_the_series_description() -> None:
    cur = study("mr1", "20260105",
                {"uid": "c.t1", "modality": "MR", "number": 1, "description": "T1"},
                {"uid": "c.fl", "modality": "MR", "number": 2, "description": "T2 FLAIR"})
    old = study("mr0", "20250105",
                {"uid": "o.t1", "modality": "MR", "number": 1, "description": "T1"},
                {"uid": "o.fl", "modality": "MR", "number": 7, "description": "t2 flair"})
    stages = hang(cur, [old])
    assert uids(stages[1]) == ["c.fl", "o.fl"]


def test_chest_radiograph_pa_and_lateral_then_with_prior() -> None:
    cur = study("cr1", "20260201",
                {"uid": "lat", "modality": "DX", "number": 1, "view": "LL"},
                {"uid": "pa", "modality": "DX", "number": 2, "view": "PA"})
    (only,) = hang(cur, [])
    assert only.protocol == "CR/DX" and uids(only) == ["pa", "lat"]
    old = study("cr0", "20240201", {"uid": "old.pa", "modality": "CR", "number": 1, "view": "PA"})
    stages = hang(cur, [old])
    assert stages[0].protocol == "CR/DX with prior"
    assert uids(stages[0]) == ["pa", "old.pa"] and uids(stages[1]) == ["pa", "lat"]


def mg_study(uid: str, date: str, orientations: dict[str, tuple[str, str]]) -> StudyInfo:
    sets = []
    for name, lat, view in [
        ("lmlo", "L", "MLO"), ("rcc", "R", "CC"), ("rmlo", "R", "MLO"), ("lcc", "L", "CC")
    ]:
        sets.append({"uid": f"{uid}.{name}", "series_uid": f"{uid}.s", "modality": "MG",
                     "number": 1, "laterality": lat, "view": view,
                     "patient_orientation": orientations.get(name, ("", ""))})
    return study(uid, date, *sets)


def test_mammography_four_views_back_to_back_with_chest_walls_facing() -> None:
    po = {"rcc": ("A", "R"), "lcc": ("P", "L"), "rmlo": ("P", "HR"), "lmlo": ("A", "FL")}
    (four,) = hang(mg_study("mg1", "20260301", po), [])
    assert uids(four) == ["mg1.rcc", "mg1.lcc", "mg1.rmlo", "mg1.lmlo"]
    # right breast on the left, chest wall (P) wanted on the image's right, and vice versa
    assert [c.flip_horizontal for c in four.cells] == [True, True, False, False]
    # MLO with the head at the bottom (column direction towards H) is turned head up
    assert [c.flip_vertical for c in four.cells] == [False, False, True, False]
    # without Patient Orientation the rule's mirror flag (right side) decides
    (bare,) = hang(mg_study("mg1", "20260301", {}), [])
    assert [c.flip_horizontal for c in bare.cells] == [True, False, True, False]


def test_mammography_with_prior_has_cc_and_mlo_comparison_stages() -> None:
    stages = hang(mg_study("mg1", "20260301", {}), [mg_study("mg0", "20240301", {})])
    assert [s.stage for s in stages] == ["Four views", "CC with prior", "MLO with prior"]
    assert uids(stages[1]) == ["mg1.rcc", "mg1.lcc", "mg0.rcc", "mg0.lcc"]
    assert [c.prior for c in stages[2].cells] == [False, False, True, True]


def test_user_file_overrides_adds_and_disables(regard_home: Path) -> None:
    (regard_home / "hanging-protocols.toml").write_text(
        """
[[protocol]]
name = "CT"
priority = 20
match.modality = "CT"
[[protocol.stage]]
layout = "2x2"
viewport = [{ orientation = "coronal" }]

[[protocol]]
name = "Spine CT"
priority = 50
match = { modality = "CT", body_part = "spine" }
[[protocol.stage]]
layout = "1x2"
viewport = [{ orientation = "axial", choose = "thinnest" }, { orientation = "coronal" }]

[[protocol]]
name = "MR"
enabled = false
""",
        encoding="utf-8",
    )
    (ct,) = hang(ct_study(), [])
    assert ct.protocol == "CT" and ct.layout == "2x2"
    assert uids(ct) == ["ct1.cor", "ct1.scout", "ct1.ax5", "ct1.thin"]  # then filled by number
    spine = study("sp", "20260101",
                  {"uid": "ax", "modality": "CT", "number": 2, "orientation": "axial",
                   "body_part": "LSPINE", "slice_spacing": 0.6},
                  {"uid": "cor", "modality": "CT", "number": 3, "orientation": "coronal",
                   "body_part": "LSPINE"})
    (first,) = hang(spine, [])
    assert first.protocol == "Spine CT" and uids(first) == ["ax", "cor"]
    mr = study("mr", "20260101", {"uid": "a", "modality": "MR", "number": 1})
    assert hang(mr, [])[0].protocol == "Default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[protocol]]\nname = "X"\nlayot = "1x1"\n', "protocol 'X': unknown key 'layot'"),
        ('[[protocol]]\nname = "X"\nmatch.series_description = "t1("\n'
         '[[protocol.stage]]\nlayout = "1x1"\nviewport = [{}]\n', "not a valid regular expression"),
        ('[[protocol]]\nname = "X"\n[[protocol.stage]]\nlayout = "5x1"\nviewport = [{}]\n',
         "layout must be"),
        ('[[protocol]]\nname = "X"\n[[protocol.stage]]\nlayout = "1x1"\n'
         'viewport = [{}, {}]\n', "2 viewport rules for a 1x1 layout"),
        ('[[protocol]]\nname = "X"\n[[protocol.stage]]\nlayout = "1x2"\n'
         'viewport = [{ choose = "best" }]\n', "choose must be one of"),
        ("[[protocol]\n", "not valid TOML"),
    ],
)
def test_bad_user_file_is_a_clear_error_naming_it(regard_home: Path, text: str,
                                                  message: str) -> None:
    path = regard_home / "hanging-protocols.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HangingError) as info:
        load_protocols()
    assert str(path) in str(info.value) and message in str(info.value)


def test_save_user_protocol_validates_replaces_and_round_trips(regard_home: Path) -> None:
    raw = {"name": "CT", "priority": 20, "match": {"modality": ["CT"]},
           "stage": [{"layout": "1x1", "viewport": [{"choose": "most_images"}]}]}
    path = save_user_protocol(raw)
    assert path == user_protocols_path() and path.parent == regard_home
    assert uids(hang(ct_study(), [])[0]) == ["ct1.cor"]
    raw["stage"][0]["viewport"][0]["choose"] = "thinnest"
    save_user_protocol(raw)
    assert uids(hang(ct_study(), [])[0]) == ["ct1.cor"]  # 0.5 mm coronal is thinnest
    assert path.read_text(encoding="utf-8").count("[[protocol]]") == 1
    before = path.read_bytes()
    with pytest.raises(HangingError, match="layout must be"):
        save_user_protocol({"name": "Bad", "stage": [{"layout": "9x9", "viewport": [{}]}]})
    assert path.read_bytes() == before
    save_user_protocol({"name": "CT", "enabled": False})
    assert hang(ct_study(), [])[0].protocol == "Default"


def _instance(path: Path, series: str, study_uid: str, n: int, z: float,
              iop: tuple | None = (1, 0, 0, 0, 1, 0)) -> InstanceEntry:
    return InstanceEntry(path=path, sop_instance_uid=f"{series}.{n}", sop_class_uid="1.2",
                         transfer_syntax_uid=ExplicitVRLittleEndian, instance_number=n, rows=8,
                         columns=8, number_of_frames=1, image_position=(0.0, 0.0, z),
                         image_orientation=iop, pixel_spacing=(1.0, 1.0), lossy=False,
                         study_uid=study_uid, series_uid=series)


def _mg_file(path: Path, laterality: str, view: str, orientation: list[str]) -> Path:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.ImageLaterality = laterality
    ds.ViewPosition = view
    ds.PatientOrientation = orientation
    ds.BodyPartExamined = "BREAST"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_display_sets_from_the_index_and_headers(tmp_path: Path) -> None:
    index = DicomIndex()
    ct_instances = [_instance(tmp_path / f"ct{n}", "ct.s", "st1", n, 2.5 * n) for n in range(4)]
    index.series["ct.s"] = SeriesEntry("ct.s", "st1", "CT", "Abdomen 2.5", 3, "for1", ct_instances)
    rcc = _mg_file(tmp_path / "rcc.dcm", "R", "CC", ["A", "R"])
    lcc = _mg_file(tmp_path / "lcc.dcm", "L", "CC", ["P", "L"])
    mg = [_instance(p, "mg.s", "st2", n, 0.0, None) for n, p in enumerate((rcc, lcc))]
    index.series["mg.s"] = SeriesEntry("mg.s", "st2", "MG", "Screening", 1, "", mg)
    index.studies["st1"] = StudyEntry("st1", "pat", "20260101", "", "", "", series_uids=["ct.s"])
    index.studies["st2"] = StudyEntry("st2", "pat", "20250101", "", "", "", series_uids=["mg.s"])
    current, priors = studies_for(index, "st1", with_tags=False)
    (ct,) = current.display_sets
    assert (ct.orientation, ct.slice_spacing, ct.images, ct.number) == ("axial", 2.5, 4, 3)
    assert [p.study_uid for p in priors] == ["st2"]
    mg_study_info = study_from_index(index, "st2")
    assert [(d.laterality, d.view, d.patient_orientation, d.body_part)
            for d in mg_study_info.display_sets] == [
        ("R", "CC", ("A", "R"), "BREAST"), ("L", "CC", ("P", "L"), "BREAST")]
    assert read_tags(tmp_path / "missing.dcm") == {}


def test_orientation_names() -> None:
    assert orientation_name((1, 0, 0, 0, 1, 0)) == "axial"
    assert orientation_name((1, 0, 0, 0, 0, -1)) == "coronal"
    assert orientation_name((0, 1, 0, 0, 0, -1)) == "sagittal"
    assert orientation_name((1, 0, 0, 0, 0.7071, -0.7071)) == "oblique"
    assert orientation_name(None) == ""


def test_real_mr_series_get_their_orientation_and_spacing() -> None:
    """Oracle: the corpus' header-derived geometry (mr_orientation/reference)."""
    import json

    from tests.shared_data import shared
    from viewer.dicom.index import scan

    reference = json.loads(shared("mr_orientation/reference/geometry_from_dicom.json").read_text())
    expected = {}
    for item in reference:
        n = np.cross(item["iop_row"], item["iop_col"])
        axis = int(np.argmax(np.abs(n)))
        expected[item["dir"].split("/")[-1]] = (("sagittal", "coronal", "axial")[axis],
                                                item["spacing_along_normal_mm"]["min"])
    for folder, (orientation, spacing) in expected.items():
        index = scan(shared(f"mr_orientation/{folder}"))
        (series,) = index.series.values()
        (d,) = display_sets_from_series([series])
        assert d.orientation == orientation and d.modality == "MR"
        assert d.slice_spacing == pytest.approx(spacing, abs=1e-3)
        assert d.images == len(series.instances)


def test_cli_shows_the_hanging_of_a_study_and_its_prior(tmp_path: Path, capsys) -> None:
    import json

    from viewer.cli import main
    from viewer.dicom.phantom import write_phantom_series

    common = dict(columns=32, rows=32, noise=0.0, patient_id="HANG-1")
    write_phantom_series(tmp_path / "new" / "thin", study_uid="1.2.826.0.1.3680043.10.9.1",
                         series_description="Thorax 1 mm", slices=12, slice_mm=1.0,
                         extra={"StudyDate": "20250101"}, **common)
    write_phantom_series(tmp_path / "new" / "thick", study_uid="1.2.826.0.1.3680043.10.9.1",
                         series_description="Thorax 5 mm", slices=4, slice_mm=5.0,
                         extra={"StudyDate": "20250101"}, **common)
    write_phantom_series(tmp_path / "old", study_uid="1.2.826.0.1.3680043.10.9.2",
                         series_description="Old thorax", slices=6, slice_mm=2.0,
                         extra={"StudyDate": "20200101"}, **common)
    assert main(["hanging", "show", str(tmp_path), "--study", "1.2.826.0.1.3680043.10.9.1",
                 "--json"]) == 0
    (study,) = json.loads(capsys.readouterr().out)["studies"]
    assert study["priors"] == ["1.2.826.0.1.3680043.10.9.2"]
    mpr, compare = study["stages"]
    assert (mpr["protocol"], mpr["layout"]) == ("CT", "mpr")
    assert mpr["cells"][0]["description"] == "Thorax 1 mm"
    assert [c["description"] for c in compare["cells"]] == ["Thorax 1 mm", "Old thorax"]
    assert [c["prior"] for c in compare["cells"]] == [False, True]


def test_cli_check_names_the_broken_file(regard_home: Path, capsys) -> None:
    from viewer.cli import main

    assert main(["hanging", "check"]) == 0
    assert "hanging protocols OK" in capsys.readouterr().out
    bad = regard_home / "hanging-protocols.toml"
    bad.write_text('[[protocol]]\nname = "Mine"\nstage = [{ layout = "2x9" }]\n')
    assert main(["hanging", "check"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "protocol 'Mine'" in err and "layout" in err
