"""Curved planar reformation: a known curved tube comes out as a straight band of its width.

Oracles: an S-shaped tube of known radius built analytically in patient
space (distance to two circular arcs) in axial, double-oblique and sheared
(gantry tilt) voxel grids; the independent trilinear sampler of
tests/render/volumes.py; the analytic arc length of the S (2 pi R).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.render.volumes import GEOMETRIES, make_volume, rotation, trilinear
from viewer.render.curved import (
    CurveError,
    fit_centreline,
    panoramic,
    render_cpr_png,
    straightened_cpr,
)

CENTER = np.array([3.0, -5.0, 7.0])
R_ARC = 8.0  # radius of each arc of the S (mm)
R_TUBE = 2.0  # tube radius (mm)
TUBE = 1000.0
FRAME = rotation(25, 30)  # columns: e1, e2, n of the S's plane (tilted in 3-D)
SPACING = (0.8, 0.8, 1.0)
DIMS = (60, 56, 48)


def _arc_distance(lps: np.ndarray, centre: np.ndarray, upper: bool) -> np.ndarray:
    """Distance to the half circle of radius R_ARC around ``centre`` on the +e2 (upper) or
    -e2 side of the S's plane."""
    e1, e2, n = FRAME[:, 0], FRAME[:, 1], FRAME[:, 2]
    d = lps - centre
    x, y, z = d @ e1, d @ e2, d @ n
    rho = np.hypot(x, y)
    on_side = y >= 0 if upper else y <= 0
    to_circle = np.hypot(rho - R_ARC, z)
    ends = [centre + R_ARC * e1, centre - R_ARC * e1]
    to_ends = np.min([np.linalg.norm(lps - e, axis=1) for e in ends], axis=0)
    return np.where(on_side, to_circle, to_ends)


def s_curve(lps: np.ndarray) -> np.ndarray:
    """Tube of radius R_TUBE around the S; a 1 mm linear edge puts half maximum at R_TUBE."""
    e1 = FRAME[:, 0]
    d = np.minimum(
        _arc_distance(lps, CENTER - R_ARC * e1, upper=True),
        _arc_distance(lps, CENTER + R_ARC * e1, upper=False),
    )
    return TUBE * np.clip((R_TUBE - d) / 1.0 + 0.5, 0.0, 1.0)


def s_clicks(step_deg: float = 20.0) -> np.ndarray:
    """Points a user would click along the S's centre line (on the analytic curve)."""
    e1, e2 = FRAME[:, 0], FRAME[:, 1]
    c1, c2 = CENTER - R_ARC * e1, CENTER + R_ARC * e1
    a = np.radians(np.arange(180.0, -1e-9, -step_deg))
    first = c1 + R_ARC * (np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2)
    b = np.radians(np.arange(180.0 + step_deg, 360.0 + 1e-9, step_deg))
    second = c2 + R_ARC * (np.cos(b)[:, None] * e1 + np.sin(b)[:, None] * e2)
    return np.vstack([first, second])


def tube_volume(geometry: str):
    direction, _ = GEOMETRIES[geometry]
    return make_volume(s_curve, direction, SPACING, dims=DIMS, center=tuple(CENTER))


def half_max_edges(profile: np.ndarray, offsets: np.ndarray) -> tuple[float, float]:
    """Lateral offsets (mm) where a bright band's profile crosses half its maximum."""
    half = TUBE / 2
    inside = np.flatnonzero(profile >= half)
    lo, hi = inside[0], inside[-1]

    def cross(a: int, b: int) -> float:
        fa, fb = profile[a], profile[b]
        return float(offsets[a] + (half - fa) / (fb - fa) * (offsets[b] - offsets[a]))

    return cross(lo - 1, lo), cross(hi, hi + 1)


@pytest.mark.parametrize("geometry", ["axial", "double_oblique", "sheared"])
def test_tube_is_a_straight_band_of_its_width_along_the_whole_curve(geometry: str) -> None:
    volume = tube_volume(geometry)
    cpr = straightened_cpr(volume, s_clicks(), width_mm=14.0, spacing=0.25)
    offsets = (np.arange(cpr.shape[1]) - (cpr.shape[1] - 1) / 2) * cpr.col_spacing
    assert np.isclose(cpr.centreline.length, 2 * np.pi * R_ARC, atol=0.3)
    widths, centres = [], []
    for row in range(cpr.shape[0]):
        left, right = half_max_edges(cpr.values[row].astype(float), offsets)
        widths.append(right - left)
        centres.append((left + right) / 2)
    np.testing.assert_allclose(widths, 2 * R_TUBE, atol=0.25)
    np.testing.assert_allclose(centres, 0.0, atol=0.15)
    # well outside the tube: background only
    assert np.nanmax(np.abs(cpr.values[:, np.abs(offsets) > R_TUBE + 2.0])) < 1e-3


@pytest.mark.parametrize("geometry", ["axial", "double_oblique", "sheared"])
def test_cpr_values_equal_trilinear_oracle(geometry: str) -> None:
    volume = tube_volume(geometry)
    cpr = straightened_cpr(volume, s_clicks(30.0), width_mm=30.0, angle_deg=35.0, spacing=0.6)
    expected = trilinear(volume, cpr.points)
    ok = np.isfinite(expected)
    assert ok.mean() > 0.5
    np.testing.assert_allclose(cpr.values[ok], expected[ok], atol=1e-2)


def test_rotation_spins_the_lateral_direction_about_the_tangent() -> None:
    volume = tube_volume("axial")
    clicks = s_clicks()
    base = straightened_cpr(volume, clicks, width_mm=10.0, spacing=0.5)
    turned = straightened_cpr(volume, clicks, width_mm=10.0, spacing=0.5, angle_deg=40.0)
    t = base.centreline.tangents
    assert np.abs(np.sum(turned.lateral * t, axis=1)).max() < 1e-9
    cosines = np.sum(turned.lateral * base.lateral, axis=1)
    np.testing.assert_allclose(cosines, np.cos(np.radians(40.0)), atol=1e-9)
    # half a turn mirrors the image left-right, pixel for pixel
    half_turn = straightened_cpr(volume, clicks, width_mm=10.0, spacing=0.5, angle_deg=180.0)
    np.testing.assert_allclose(half_turn.values, base.values[:, ::-1], atol=1e-2)


def test_pixel_to_lps_round_trips_and_pixels_are_spaced_in_mm() -> None:
    volume = tube_volume("double_oblique")
    cpr = straightened_cpr(volume, s_clicks(), width_mm=12.0, spacing=0.5)
    lateral_steps = np.linalg.norm(np.diff(cpr.points, axis=1), axis=2)
    np.testing.assert_allclose(lateral_steps, 0.5, atol=1e-9)
    arc_steps = np.linalg.norm(np.diff(cpr.centreline.points, axis=0), axis=1)
    np.testing.assert_allclose(arc_steps, 0.5, atol=0.01)
    rng = np.random.default_rng(7)
    rows, cols = cpr.shape
    for row, col in zip(rng.uniform(0, rows - 1, 30), rng.uniform(0, cols - 1, 30), strict=True):
        p = cpr.pixel_to_lps(row, col)
        back_row, back_col, dist = cpr.lps_to_pixel(p)
        assert abs(back_row - row) < 1e-6 and abs(back_col - col) < 1e-6
        assert dist < 1e-6
    # a point off the surface: its distance to it
    r, c = rows // 2, cols // 3
    depth = np.cross(cpr.centreline.tangents[r], cpr.lateral[r])
    _, _, dist = cpr.lps_to_pixel(cpr.points[r, c] + 3.0 * depth)
    assert abs(dist - 3.0) < 0.01
    # the cross-section plane at a sample is perpendicular to the curve
    plane = cpr.cross_section(r)
    np.testing.assert_allclose(abs(plane.normal @ cpr.centreline.tangents[r]), 1.0, atol=1e-9)


def test_panoramic_of_a_dental_arch_shows_the_wall_over_its_height() -> None:
    arch_r, wall, half_height = 15.0, 1.5, 8.0
    centre = CENTER + np.array([0.0, 4.0, 0.0])

    def arch(lps: np.ndarray) -> np.ndarray:
        d = lps - centre
        rho = np.hypot(d[:, 0], d[:, 1])
        on_arch = (np.abs(rho - arch_r) < wall) & (d[:, 1] < 0) & (np.abs(d[:, 2]) < half_height)
        return np.where(on_arch, TUBE, 0.0)

    volume = make_volume(arch, np.eye(3), (0.5, 0.5, 1.0), dims=(80, 64, 30), center=tuple(CENTER))
    a = np.radians(np.arange(20.0, 161.0, 20.0))  # anterior half, patient right to left
    clicks = centre + arch_r * np.column_stack([-np.cos(a), -np.sin(a), 0 * a])
    pano = panoramic(volume, clicks, height_mm=26.0, thickness_mm=2.0, slab_mode="mip")
    heights = (np.arange(pano.shape[0])[::-1] - (pano.shape[0] - 1) / 2) * pano.row_spacing
    inside = np.abs(heights) < half_height - 1.0
    outside = np.abs(heights) > half_height + 1.0
    assert pano.values[inside].min() > 0.99 * TUBE
    assert np.nanmax(pano.values[outside]) < 1e-3
    np.testing.assert_allclose(pano.points[0, :, 2] - pano.points[1, :, 2], pano.row_spacing)
    # lateral (slab) direction: the arch normal within the axial plane
    assert np.abs(pano.lateral[:, 2]).max() < 1e-9
    assert np.abs(np.sum(pano.lateral * pano.centreline.tangents, axis=1)).max() < 1e-9


def test_render_cpr_png_writes_the_band_with_the_window(tmp_path) -> None:
    volume = tube_volume("axial")
    out = tmp_path / "cpr.png"
    info = render_cpr_png(volume, s_clicks(), out, window=(1000.0, 500.0), width_mm=20.0)
    grey = np.asarray(Image.open(out))
    assert grey.ndim == 2 and list(grey.shape[::-1]) == info["size"]
    centre_col = grey.shape[1] // 2
    assert grey[2:-2, centre_col].min() >= 240  # tube centre: 1000 -> white
    assert grey[:, :3].max() <= 2 and grey[:, -3:].max() <= 2  # background 0 -> black
    assert abs(info["length_mm"] - 2 * np.pi * R_ARC) < 0.5


def test_too_few_points_is_a_clear_error() -> None:
    with pytest.raises(CurveError, match="at least two"):
        fit_centreline([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    line = fit_centreline([[0, 0, 0], [10, 0, 0], [10, 0, 0]], step=1.0)  # double-click end
    assert len(line.points) == 11
    np.testing.assert_allclose(line.tangents, [[1.0, 0.0, 0.0]] * 11, atol=1e-9)


def _vtk_probe(volume, lps: np.ndarray) -> np.ndarray:
    """Peer oracle: VTK's own trilinear probe of the voxels at the points (index space)."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkPolyData
    from vtkmodules.vtkFiltersCore import vtkProbeFilter

    from viewer.render.image import VolumeImage

    data = VolumeImage(volume)
    pts = vtkPoints()
    idx = volume.geometry.lps_to_index(lps.reshape(-1, 3))
    pts.SetData(numpy_to_vtk(np.ascontiguousarray(idx), deep=True))
    poly = vtkPolyData()
    poly.SetPoints(pts)
    probe = vtkProbeFilter()
    probe.SetInputData(poly)
    probe.SetSourceData(data.image)
    probe.Update()
    out = probe.GetOutput()
    values = vtk_to_numpy(out.GetPointData().GetArray("voxels")).astype(float)
    valid = vtk_to_numpy(out.GetPointData().GetArray(probe.GetValidPointMaskArrayName()))
    values[valid == 0] = np.nan
    return values.reshape(lps.shape[:-1])


def test_cpr_values_equal_vtk_probe_on_a_sheared_grid() -> None:
    volume = tube_volume("sheared")
    cpr = straightened_cpr(volume, s_clicks(30.0), width_mm=20.0, angle_deg=-20.0, spacing=0.7)
    expected = _vtk_probe(volume, cpr.points)
    ok = np.isfinite(expected) & np.isfinite(cpr.values)
    assert ok.mean() > 0.9
    np.testing.assert_allclose(cpr.values[ok], expected[ok], atol=0.05)


def test_uneven_stack_is_sampled_at_its_true_slice_positions() -> None:
    from viewer.dicom.geometry import Geometry
    from viewer.dicom.volume import Volume

    # a field linear in z, stored with uneven gaps: any correct sampler reproduces it
    z = np.array([0.0, 1.0, 2.0, 4.0, 5.0, 8.0, 9.0, 10.0])
    geometry = Geometry((20, 20, len(z)), (1.0, 1.0, 10.0 / 7), np.zeros(3), np.eye(3))
    array = np.broadcast_to((5.0 * z)[:, None, None], (len(z), 20, 20)).astype(np.float32)
    volume = Volume(array.copy(), geometry,
                    slice_positions=np.column_stack([0 * z, 0 * z, z]))
    line = [[10.0, 2.0, 3.0], [10.0, 10.0, 7.0], [10.0, 17.0, 3.5]]
    cpr = straightened_cpr(volume, line, width_mm=6.0, reference=(1.0, 0.0, 0.0), spacing=0.5)
    ok = np.isfinite(cpr.values)
    assert ok.mean() > 0.95
    np.testing.assert_allclose(cpr.values[ok], 5.0 * cpr.points[..., 2][ok], atol=1e-3)


def test_monochrome1_png_is_inverted(tmp_path) -> None:
    from dataclasses import replace

    volume = replace(tube_volume("axial"), photometric="MONOCHROME1")
    render_cpr_png(volume, s_clicks(), tmp_path / "m1.png", window=(1000.0, 500.0),
                   width_mm=20.0)
    grey = np.asarray(Image.open(tmp_path / "m1.png"))
    assert grey[2:-2, grey.shape[1] // 2].max() <= 15  # the bright tube shows dark


def test_real_tilted_ct_cpr_in_an_acquired_slice_equals_its_pixels() -> None:
    """Real Philips CT with an 18.5 degree gantry tilt (shared corpus): a centre line drawn
    in one acquired slice, the CPR spun into that slice's plane, equals bilinear
    interpolation of that file's own pixels (read here with pydicom, geometry from its
    IPP/IOP/PixelSpacing), whatever the sheared voxel grid."""
    import pydicom

    from tests.shared_data import shared
    from viewer.dicom.assemble import assemble

    volume = assemble(shared("ct_gantry_tilt/Philips_Ingenuity_tilt-18.5"))[0]
    assert volume.uniform and volume.geometry.shear_degrees > 18
    k = 27
    ds = pydicom.dcmread(volume.source_files[k])
    pixels = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    ipp = np.array(ds.ImagePositionPatient, float)
    row, col = np.array(ds.ImageOrientationPatient[:3], float), np.array(
        ds.ImageOrientationPatient[3:], float)
    ps_r, ps_c = (float(v) for v in ds.PixelSpacing)  # between rows, between columns
    arc = np.array([[150, 220], [200, 290], [256, 310], [310, 290], [360, 220]], float)
    clicks = ipp + arc[:, :1] * ps_c * row + arc[:, 1:] * ps_r * col
    cpr = straightened_cpr(volume, clicks, width_mm=30.0, spacing=0.5,
                           reference=np.cross(row, col))
    rel = cpr.points - ipp
    c, r = rel @ row / ps_c, rel @ col / ps_r
    assert np.abs(rel @ np.cross(row, col)).max() < 1e-6  # all samples in the slice
    c0, r0 = np.floor(c).astype(int), np.floor(r).astype(int)
    fc, fr = c - c0, r - r0
    p = pixels.astype(float)
    expected = ((p[r0, c0] * (1 - fc) + p[r0, c0 + 1] * fc) * (1 - fr)
                + (p[r0 + 1, c0] * (1 - fc) + p[r0 + 1, c0 + 1] * fc) * fr)
    np.testing.assert_allclose(cpr.values, expected, atol=0.05)
