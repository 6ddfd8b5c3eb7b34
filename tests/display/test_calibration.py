"""GSDF presentation LUT from a measured curve, against DCMTK's dcmdspfn, and applied in VTK."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viewer.display import gsdf
from viewer.display.calibration import (
    CalibrationError,
    CharacteristicCurve,
    presentation_lut,
    vtk_lookup_table,
)
from viewer.display.qa import Measurements, evaluate

DCMTK_MONITOR = Path("/usr/share/dcmtk/monitor.lut")


def gamma_screen(
    max_ddl: int = 255, lmin: float = 0.5, lmax: float = 400.0, gamma: float = 2.2, step: int = 1
) -> CharacteristicCurve:
    ddl = np.arange(0, max_ddl + 1, step, dtype=float)
    if ddl[-1] != max_ddl:
        ddl = np.append(ddl, max_ddl)
    return CharacteristicCurve(ddl, lmin + (lmax - lmin) * (ddl / max_ddl) ** gamma, 0.3, max_ddl)


@pytest.mark.integration
def test_lut_matches_dcmtk_dcmdspfn(tmp_path: Path) -> None:
    """dcmdspfn writes, per P-value, the GSDF target and the luminance its LUT achieves."""
    if shutil.which("dcmdspfn") is None or not DCMTK_MONITOR.is_file():
        pytest.fail("DCMTK (dcmdspfn and its monitor.lut sample) is not installed")
    out = tmp_path / "psc.txt"
    subprocess.run(
        ["dcmdspfn", "+Im", str(DCMTK_MONITOR), "+Og", str(out)], check=True, capture_output=True
    )
    rows = np.array(
        [
            [float(v) for v in line.split()]
            for line in out.read_text().splitlines()
            if line[:1].isdigit()
        ]
    )
    curve = CharacteristicCurve.from_dcmtk_file(DCMTK_MONITOR)
    assert curve.ambient == 1.0 and curve.max_ddl == 255
    lut = presentation_lut(curve)
    # columns: DDL, CC (measured + ambient), GSDF target, PSC (achieved through the LUT)
    assert np.allclose(curve.full_curve(), rows[:, 1], rtol=1e-6)
    assert np.max(np.abs(lut.target / rows[:, 2] - 1)) < 5e-4
    assert np.allclose(lut.achieved, rows[:, 3], rtol=1e-6)


def test_calibrated_gamma_screen_follows_the_gsdf_in_qa() -> None:
    curve = gamma_screen(max_ddl=1023)
    lut = presentation_lut(curve, 1024)
    ln_p = np.round(np.arange(18) * 1023 / 17).astype(int)
    measured = curve.luminance_at(lut.ddl[ln_p].astype(float))
    calibrated = evaluate(Measurements(list(ln_p.astype(float)), list(measured), 0.3))
    assert calibrated.max_deviation < 0.03, calibrated.intervals
    raw = evaluate(Measurements(list(ln_p.astype(float)), list(curve.luminance_at(ln_p)), 0.3))
    assert raw.max_deviation > 0.4


def test_lut_is_monotonic_and_spans_the_screen() -> None:
    lut = presentation_lut(gamma_screen())
    assert lut.entries == 256 and lut.ddl[0] == 0 and lut.ddl[-1] == 255
    assert np.all(np.diff(lut.ddl) >= 0)
    j = gsdf.jnd_index(lut.target)
    assert np.allclose(np.diff(j), np.diff(j)[0])


def test_sparse_measurements_are_interpolated() -> None:
    dense = presentation_lut(gamma_screen())
    sparse = presentation_lut(gamma_screen(step=15))  # 18 measured levels like TG18-LN
    assert np.max(np.abs(dense.ddl - sparse.ddl)) <= 3


def test_vtk_image_map_to_colors_applies_the_lut() -> None:
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkImagingCore import vtkImageMapToColors

    lut = presentation_lut(gamma_screen())
    image = vtkImageData()
    image.SetDimensions(256, 2, 1)
    ramp = np.tile(np.arange(256, dtype=np.uint8), 2)
    image.GetPointData().SetScalars(numpy_to_vtk(ramp, deep=1))
    mapper = vtkImageMapToColors()
    mapper.SetInputData(image)
    mapper.SetLookupTable(vtk_lookup_table(lut))
    mapper.SetOutputFormatToLuminance()
    mapper.Update()
    out = vtk_to_numpy(mapper.GetOutput().GetPointData().GetScalars()).reshape(2, 256)
    assert np.array_equal(out[0], lut.ddl) and np.array_equal(out[1], lut.ddl)
    assert np.array_equal(lut.apply(ramp.reshape(2, 256)), out)


@pytest.mark.parametrize(
    ("ddl", "lum", "message"),
    [
        ([0, 128, 255], [1.0, 0.5, 300.0], r"does not increase .*\(at DDL 128\)"),
        ([0, 255], [1.0, -3.0], "positive"),
        ([0, 300], [1.0, 200.0], "0..255"),
        ([0], [1.0], "at least two"),
    ],
)
def test_bad_curves_are_refused(ddl: list[float], lum: list[float], message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        CharacteristicCurve(np.asarray(ddl, float), np.asarray(lum, float), source="x.lut")


def test_cli_lut_stores_curve_for_the_screen(tmp_path: Path) -> None:
    from viewer.display import qa_store

    curve_file = tmp_path / "curve.json"
    curve_file.write_text(json.dumps(gamma_screen(step=15).to_dict()))
    cmd = [
        sys.executable,
        "-m",
        "viewer.cli",
        "display",
        "lut",
        "--curve",
        str(curve_file),
        "--screen",
        "Office_1280x1024",
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["entries"] == 256 and len(doc["ddl"]) == 256
    stored = qa_store.presentation_lut_for("Office_1280x1024")
    assert stored is not None and stored.ddl.tolist() == doc["ddl"]
    qa_store.set_calibration_enabled("Office_1280x1024", False)
    assert qa_store.presentation_lut_for("Office_1280x1024") is None
    assert qa_store.presentation_lut_for("another screen") is None


def test_vtk_image_property_applies_lut_after_window_level() -> None:
    """The render layer's way: LUT on vtkImageProperty, window/level spread over its entries."""
    from viewer.render.backend import ensure_backend, new_render_window

    ensure_backend()
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkRenderingCore import (
        vtkImageSlice,
        vtkImageSliceMapper,
        vtkRenderer,
        vtkWindowToImageFilter,
    )

    lut = presentation_lut(gamma_screen())
    width = 256
    hu = np.linspace(-1000.0, 3000.0, width)
    image = vtkImageData()
    image.SetDimensions(width, 4, 1)
    image.GetPointData().SetScalars(numpy_to_vtk(np.tile(hu, 4).astype(np.float32), deep=1))
    mapper = vtkImageSliceMapper()
    mapper.SetInputData(image)
    actor = vtkImageSlice()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColorWindow(4000.0)
    prop.SetColorLevel(1000.0)
    prop.SetInterpolationTypeToNearest()
    prop.SetLookupTable(vtk_lookup_table(lut))
    prop.UseLookupTableScalarRangeOff()
    renderer = vtkRenderer()
    renderer.AddViewProp(actor)
    # The project's factory, never a bare vtkRenderWindow(): VTK latches the first
    # class its factory picks for the whole process (EGL here), and a Qt window
    # created later in the same test process would get EGL too and crash.
    window = new_render_window((width, 4))
    window.AddRenderer(renderer)
    camera = renderer.GetActiveCamera()
    camera.ParallelProjectionOn()
    camera.SetParallelScale(2.0)
    camera.SetFocalPoint((width - 1) / 2, 1.5, 0)
    camera.SetPosition((width - 1) / 2, 1.5, 100)
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.Update()
    shown = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars()).reshape(4, width, -1)
    shown = shown[1, :-1, 0].astype(int)  # last column sits on the window's edge
    p_values = np.clip(np.floor((hu - (1000.0 - 2000.0)) / 4000.0 * 256), 0, 255).astype(int)
    assert np.max(np.abs(shown - lut.ddl[p_values][:-1])) <= 1
    assert np.max(np.abs(shown - p_values[:-1])) > 20  # and it is not the identity
