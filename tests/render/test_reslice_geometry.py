"""The resliced pixels are the volume sampled at the plane's LPS points, for any stack geometry.

Oracles: an independent trilinear sampler through the inverse affine
(tests/render/volumes.py), and a field linear in LPS, which trilinear
interpolation must reproduce exactly whatever the (sheared) voxel grid.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.render.volumes import GEOMETRIES, linear_field, make_volume, smooth_field, trilinear
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.render.planes import make_plane
from viewer.render.slice_view import SliceView

PLANES = [
    ("axial", None),
    ("coronal", None),
    ("sagittal", None),
    ("acquisition", None),
    ("axial", (0.3, -0.2, 1.0)),
    ("sagittal", (1.0, 0.4, 0.25)),
]


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize(("plane", "normal"), PLANES)
def test_reslice_matches_trilinear_oracle(geometry: str, plane: str, normal: tuple | None) -> None:
    direction, spacing = GEOMETRIES[geometry]
    volume = make_volume(smooth_field, direction, spacing, dims=(30, 28, 22))
    view = SliceView(volume, size=(64, 64), overlay=False)
    point = volume.geometry.center + np.array([2.3, -1.7, 1.1])
    view.set_point(point)
    view.set_plane(plane, normal=normal)
    got = view.slice_array().astype(float)
    assert view.grid is not None
    lps = view.grid.pixel_lps(view.plane)
    # every output pixel lies on the plane through the point
    assert np.allclose((lps - point) @ view.plane.normal, 0, atol=1e-6)
    want = trilinear(volume, lps)
    inside = ~np.isnan(want)
    assert inside.sum() > 0.2 * inside.size
    np.testing.assert_allclose(got[inside], want[inside], atol=2e-3, rtol=1e-4)


@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal", "acquisition"])
def test_linear_field_reproduced_exactly_on_sheared_stack(plane: str) -> None:
    direction, spacing = GEOMETRIES["sheared"]
    volume = make_volume(linear_field, direction, spacing, dims=(30, 28, 22))
    assert volume.geometry.shear_degrees == pytest.approx(18.5)
    view = SliceView(volume, size=(64, 64), overlay=False, plane=plane)
    got = view.slice_array().astype(float)
    assert view.grid is not None
    lps = view.grid.pixel_lps(view.plane)
    inside = ~np.isnan(trilinear(volume, lps))
    want = linear_field(lps.reshape(-1, 3)).reshape(lps.shape[:2])
    np.testing.assert_allclose(got[inside], want[inside], atol=1e-3)
    # more than half a voxel outside the grid the renderer shows background (no wrap, no smear)
    idx = volume.geometry.lps_to_index(lps.reshape(-1, 3)).reshape(lps.shape)
    dims = np.asarray(volume.geometry.dims)
    far = np.any((idx < -0.5 - 1e-3) | (idx > dims - 0.5 + 1e-3), axis=-1)
    assert far.sum() > 0 or plane == "axial"
    assert np.all(got[far] == pytest.approx(float(volume.array.min())))


def test_ignoring_the_shear_would_be_caught() -> None:
    """The oracle is sensitive: an orthogonalised geometry samples visibly different values."""
    direction, spacing = GEOMETRIES["sheared"]
    volume = make_volume(linear_field, direction, spacing, dims=(30, 28, 22))
    ortho = direction.copy()
    ortho[:, 2] = np.cross(direction[:, 0], direction[:, 1])
    wrong = make_volume(linear_field, direction, spacing, dims=(30, 28, 22))
    wrong.geometry = type(volume.geometry)(volume.geometry.dims, spacing, volume.geometry.origin,
                                           ortho)
    view = SliceView(wrong, size=(64, 64), overlay=False, plane="coronal")
    lps = view.grid.pixel_lps(view.plane)
    inside = ~np.isnan(trilinear(volume, lps))
    want = linear_field(lps.reshape(-1, 3)).reshape(lps.shape[:2])
    assert np.abs(view.slice_array()[inside] - want[inside]).max() > 5


def test_int16_volume_shares_memory_with_vtk() -> None:
    direction, spacing = GEOMETRIES["axial"]
    volume = make_volume(smooth_field, direction, spacing, dims=(20, 20, 10), dtype=np.int16)
    view = SliceView(volume, size=(32, 32), overlay=False)
    from vtkmodules.util.numpy_support import vtk_to_numpy

    shared = vtk_to_numpy(view.data.image.GetPointData().GetScalars())
    assert np.shares_memory(shared, volume.array)
    assert view.slice_array().dtype == np.int16


def test_plane_axes_and_labels_follow_radiological_convention() -> None:
    center = np.zeros(3)
    assert make_plane("axial", center).edge_labels() == {
        "left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert make_plane("coronal", center).edge_labels() == {
        "left": "R", "right": "L", "top": "H", "bottom": "F"}
    assert make_plane("sagittal", center).edge_labels() == {
        "left": "A", "right": "P", "top": "H", "bottom": "F"}
    oblique = make_plane("axial", center, normal=(0.0, -0.5, -1.0))
    assert np.allclose(np.abs(oblique.normal @ np.array([0, -0.5, -1.0])), np.sqrt(1.25))
    assert oblique.edge_labels()["right"] == "L"
    assert oblique.edge_labels()["top"] in ("AF", "AH")


def _uneven_volume(direction: np.ndarray, gaps: list[float]) -> Volume:
    """A stack whose slices sit at uneven offsets along k, as assembly reports it:
    regular affine with the mean gap, true positions in ``slice_positions``."""
    t = np.concatenate([[0.0], np.cumsum(gaps)])
    dims = (21, 19, len(t))
    spacing = (1.0, 1.0, float(np.mean(gaps)))
    origin = np.array([-10.0, -9.0, -20.0])
    geometry = Geometry(dims, spacing, origin, direction)
    positions = origin + np.outer(t, direction[:, 2])
    j, i = np.meshgrid(np.arange(dims[1]), np.arange(dims[0]), indexing="ij")
    slices = []
    for p in positions:
        lps = p + i[..., None] * direction[:, 0] + j[..., None] * direction[:, 1]
        slices.append(linear_field(lps.reshape(-1, 3)).reshape(i.shape))
    volume = Volume(np.asarray(slices, dtype=np.float32), geometry, slice_positions=positions)
    assert not volume.uniform
    return volume


GAPS = [2.0, 2.0, 2.0, 1.0, 5.0, 5.0, 5.0, 3.0, 2.0]


@pytest.mark.parametrize("geometry", ["axial", "sheared"])
@pytest.mark.parametrize("plane", ["coronal", "sagittal", ("axial", (0.2, 0.3, 1.0))])
def test_uneven_slices_are_drawn_where_they_were_acquired(geometry: str, plane: object) -> None:
    direction = GEOMETRIES[geometry][0]
    volume = _uneven_volume(direction, GAPS)
    name, normal = plane if isinstance(plane, tuple) else (plane, None)
    view = SliceView(volume, size=(64, 64), overlay=False, plane=name)
    view.set_plane(name, normal=normal)
    got = view.slice_array().astype(float)
    lps = view.grid.pixel_lps(view.plane)
    display = view.data.volume  # the evenly resampled copy
    assert display.geometry.spacing[2] == pytest.approx(1.0)
    inside = ~np.isnan(trilinear(display, lps))
    want = linear_field(lps.reshape(-1, 3)).reshape(lps.shape[:2])
    assert inside.sum() > 100
    np.testing.assert_allclose(got[inside], want[inside], atol=2e-3)


def test_uneven_stack_keeps_each_acquired_slice() -> None:
    volume = _uneven_volume(np.eye(3), GAPS)
    view = SliceView(volume, size=(64, 64), overlay=False, plane="axial")
    for k in (0, 4, 5, 9):
        view.set_point(volume.slice_positions[k] + np.array([10.0, 9.0, 0.0]))
        np.testing.assert_allclose(view.slice_array(), volume.array[k], atol=1e-3)


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal"])
@pytest.mark.parametrize("mode", ["mip", "minip", "mean"])
def test_slab_matches_oracle_for_any_geometry(geometry: str, plane: str, mode: str) -> None:
    """Slab = N samples evenly spread over [-T/2, T/2] along the normal, reduced."""
    direction, spacing = GEOMETRIES[geometry]
    volume = make_volume(smooth_field, direction, spacing, dims=(24, 22, 18))
    view = SliceView(volume, size=(48, 48), overlay=False, plane=plane)
    thickness = 5.0
    view.set_slab(thickness, mode)
    got = view.slice_array().astype(float)
    n = max(2, round(thickness / view.slice_step()) + 1)
    lps = view.grid.pixel_lps(view.plane)
    samples = np.stack([
        trilinear(volume, lps + w * view.plane.normal)
        for w in np.linspace(-thickness / 2, thickness / 2, n)
    ])
    inside = ~np.isnan(samples).any(axis=0)
    assert inside.sum() > 50
    reduce = {"mip": np.max, "minip": np.min, "mean": np.mean}[mode]
    np.testing.assert_allclose(got[inside], reduce(samples, axis=0)[inside], atol=2e-3, rtol=1e-4)
