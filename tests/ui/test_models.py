"""Qt-free models of the reading station (no Qt, no VTK needed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.ui.browser_query import Query, StudyRow
from viewer.ui.models import (
    MPRModel,
    ViewportModel,
    format_da,
    format_pn,
    load_presets,
    nice_scale_length,
)


def volume(dims=(40, 30, 20), spacing=(0.5, 0.5, 2.0)) -> Volume:
    i, j, k = dims
    a = np.arange(i * j * k, dtype=np.int16).reshape(k, j, i)
    g = Geometry(dims, spacing, np.array([-10.0, -7.5, 100.0]), np.eye(3))
    return Volume(a, g, modality="CT", window=(40.0, 400.0))


def test_models_import_neither_qt_nor_vtk() -> None:
    code = ("import sys, viewer.ui.models, viewer.ui.browser_query;"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'vtkmodules'))];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_ct_presets_are_the_usual_values() -> None:
    ct = {p.id: (p.width, p.level) for p in load_presets()["CT"]}
    assert ct["brain"] == (80, 40)
    assert ct["subdural"] == (200, 75)
    assert ct["stroke"] == (40, 40)
    assert ct["lung"] == (1500, -600)
    assert ct["mediastinum"] == (350, 50)
    assert ct["abdomen"] == (400, 50)
    assert ct["liver"] == (150, 30)
    assert ct["bone"] == (1800, 400)
    shortcuts = [p.shortcut for p in load_presets()["CT"]]
    assert len(set(shortcuts)) == len(shortcuts)


def test_bad_preset_file_is_named_in_the_error(tmp_path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[[CT]]\nid = 'x'\nwidth = 'wide'\nlevel = 1\n")
    with pytest.raises(ValueError, match=r"p\.toml.*preset 1 of CT"):
        load_presets(str(bad))
    with pytest.raises(ValueError, match="not found"):
        load_presets(str(tmp_path / "missing.toml"))


def test_default_view_is_the_middle_slice_with_the_header_window() -> None:
    m = ViewportModel(volume())
    assert m.slice_count() == 20
    assert m.slice_index() in (9, 10)
    assert (m.center, m.width) == (40.0, 400.0)


def test_scroll_follows_the_stack_and_clamps() -> None:
    m = ViewportModel(volume())
    m.set_slice(0)
    assert m.point[2] == pytest.approx(100.0)
    m.scroll(3)
    assert m.slice_index() == 3 and m.point[2] == pytest.approx(106.0)
    m.scroll(-100)
    assert m.slice_index() == 0
    m.scroll(100)
    assert m.slice_index() == 19 and m.point[2] == pytest.approx(138.0)


def test_reformatted_plane_counts_slices_along_its_own_normal() -> None:
    m = ViewportModel(volume(), plane="coronal")
    assert m.slice_count() == 30
    assert m.slice_step() == pytest.approx(0.5)
    m.set_slice(0)
    # coronal slices go along y; the first is at the first row
    assert m.point[1] == pytest.approx(-7.5)


def test_window_drag_and_events() -> None:
    m = ViewportModel(volume())
    seen: list[set[str]] = []
    m.events.connect(seen.append)
    m.window_drag(dx=10, dy=-20)
    assert m.width > 400 and m.center < 40
    assert seen[-1] == {"window"}
    m.set_window(0, -5)
    assert m.width == 1.0  # PS3.3 C.11.2.1.2: width >= 1
    with m.events:
        m.set_zoom(2)
        m.pan_by(1, 2)
    assert seen[-1] == {"camera"}


def test_distance_tool_measures_in_mm_between_lps_points() -> None:
    m = ViewportModel(volume())
    m.set_tool("distance")
    assert m.measure_click(np.array([0.0, 0.0, 0.0])) is None
    d = m.measure_click(np.array([3.0, 4.0, 0.0]))
    assert d is not None and d.length_mm == pytest.approx(5.0) and d.label() == "5.0 mm"
    with pytest.raises(ValueError):
        m.set_tool("lasso")


def test_corner_texts_carry_demographics_technique_and_state() -> None:
    v = volume()
    v.meta.update(patient_name="DUPONT^Jean", patient_id="123", ins="1234567890123",
                  ins_status="QUAL", birth_date="19600102", sex="M", study_date="20240301",
                  series_description="Thorax", series_number="3")
    m = ViewportModel(v)
    c = m.corner_texts()
    assert c["top-left"].splitlines() == ["DUPONT Jean", "123", "INS 1234567890123 (QUAL)",
                                          "1960-01-02 M"]
    assert "2024-03-01" in c["top-right"] and "#3 Thorax" in c["top-right"]
    assert c["bottom-left"].startswith(f"Image {m.slice_index() + 1}/20")
    assert "W 400  L 40" in c["bottom-right"]


def test_edge_labels_follow_radiological_conventions() -> None:
    v = volume()
    assert ViewportModel(v, "axial").edge_labels() == {"left": "R", "right": "L", "top": "A",
                                                       "bottom": "P"}
    assert ViewportModel(v, "sagittal").edge_labels() == {"left": "A", "right": "P",
                                                          "top": "H", "bottom": "F"}


def test_mpr_point_moves_every_plane_and_is_clamped_to_the_volume() -> None:
    mpr = MPRModel(volume())
    mpr.set_point((5.0, 2.0, 120.0))
    for view in mpr.views.values():
        np.testing.assert_allclose(view.point, (5.0, 2.0, 120.0))
    mpr.set_point((1000.0, 0.0, 0.0))
    assert mpr.point[0] == pytest.approx(-10 + 39 * 0.5)
    lines = mpr.crosshair_lines("axial")
    assert len(lines) == 2
    assert {tuple(np.abs(np.round(d))) for _, d, _ in lines} == {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)}


def test_helpers() -> None:
    assert format_pn("DOE^JOHN^A") == "DOE JOHN A"
    assert format_da("20240101") == "2024-01-01" and format_da("bad") == "bad"
    assert nice_scale_length(73) == 50 and nice_scale_length(0.3) == 0.2


def _row(**kw: str) -> StudyRow:
    base = dict(study_uid="1", patient_name="DUPONT^JEAN", patient_id="123", ins="999",
                birth_date="19600101", study_date="20240301", modalities="CT/SR",
                description="", accession="A1", source="local")
    base.update(kw)
    return StudyRow(**base)


def test_study_query_matching() -> None:
    row = _row()
    assert Query().matches(row)
    assert Query(name="dupont jean").matches(row)
    assert Query(name="jean").matches(row)
    assert not Query(name="martin").matches(row)
    assert Query(patient_id="999").matches(row)  # INS
    assert Query(modality="CT").matches(row) and not Query(modality="MR").matches(row)
    assert Query(date_from="20240101", date_to="20240331").matches(row)
    assert not Query(date_from="20240302").matches(row)
    assert not Query(accession="A2").matches(row)


def test_rotate_and_flip_move_the_orientation_letters() -> None:
    m = ViewportModel(volume(), "axial")
    m.rotate_quarter(1)  # clockwise: the anterior edge goes to the right
    assert m.edge_labels() == {"left": "P", "right": "A", "top": "R", "bottom": "L"}
    m.rotate_quarter(3)
    m.flip(horizontal=True)
    assert m.edge_labels() == {"left": "L", "right": "R", "top": "A", "bottom": "P"}
    m.flip(horizontal=True)
    m.flip(horizontal=False)
    assert m.edge_labels()["top"] == "P"
