"""Distance, angle and elliptical ROI statistics in modality units.

Oracles: closed-form distances and angles; a synthetic volume with two
constant regions (100 and 300, split at a known LPS x) plus seeded Gaussian
noise, whose ROI statistics on the acquisition plane must equal numpy's on
the voxels whose centres lie in the ellipse (selected independently from
their LPS positions); the analytic area pi a b; the noise-free region value
on oblique planes of oblique and sheared grids.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.render.volumes import GEOMETRIES, make_volume
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.render.measure import (
    EllipseROI,
    angle_deg,
    distance_mm,
    ellipse_stats,
    native_steps,
)
from viewer.render.planes import make_plane

SPLIT_X = 2.0  # LPS x where region 100 (right of patient) meets region 300


def two_regions(lps: np.ndarray) -> np.ndarray:
    return np.where(lps[:, 0] < SPLIT_X, 100.0, 300.0)


def noisy_volume(sigma: float = 10.0) -> Volume:
    spacing = (0.7, 0.6, 2.0)
    dims = (80, 90, 9)
    origin = np.array([-25.0, -30.0, -8.0])
    geometry = Geometry(dims, spacing, origin, np.eye(3))
    k, j, i = np.meshgrid(*(np.arange(n) for n in dims[::-1]), indexing="ij")
    lps = geometry.index_to_lps(np.stack([i, j, k], -1).reshape(-1, 3).astype(float))
    clean = two_regions(lps).reshape(dims[::-1])
    noise = np.random.default_rng(42).normal(0.0, sigma, clean.shape)
    array = np.rint(clean + noise).astype(np.int16)
    return Volume(array, geometry, modality="CT", rescale_type="HU")


def test_distance_and_angle() -> None:
    assert distance_mm((0, 0, 0), (3, 4, 0)) == pytest.approx(5.0)
    assert distance_mm((1, 2, 3), (1, 2, 3)) == 0.0
    assert angle_deg((1, 0, 0), (0, 0, 0), (0, 1, 0)) == pytest.approx(90.0)
    assert angle_deg((2, 2, 5), (1, 1, 5), (2, 1, 5)) == pytest.approx(45.0)
    assert angle_deg((1, 0, 0), (0, 0, 0), (-3, 0, 0)) == pytest.approx(180.0)
    assert angle_deg((1, 0, 0), (0, 0, 0), (1, 1e-7, 0)) == pytest.approx(0.0, abs=1e-4)
    with pytest.raises(ValueError, match="non-zero length"):
        angle_deg((0, 0, 0), (0, 0, 0), (1, 0, 0))


def test_ellipse_stats_equal_the_voxels_inside_on_the_acquisition_plane() -> None:
    volume = noisy_volume()
    g = volume.geometry
    k = 4
    centre = g.index_to_lps((20.3, 40.6, k))  # in region 100, off any voxel centre
    plane = make_plane("acquisition", centre, g)
    roi = EllipseROI(plane, centre, a=9.0, b=5.5)
    stats = ellipse_stats(volume, roi)
    # independent oracle: voxel centres of slice k inside the ellipse
    jj, ii = np.meshgrid(np.arange(g.dims[1]), np.arange(g.dims[0]), indexing="ij")
    lps = g.index_to_lps(np.stack([ii, jj, np.full_like(ii, k)], -1).reshape(-1, 3).astype(float))
    d = lps - centre
    mask = ((d[:, 0] / 9.0) ** 2 + (d[:, 1] / 5.5) ** 2 <= 1.0).reshape(jj.shape)
    voxels = volume.array[k][mask].astype(float)
    assert stats.count == voxels.size and stats.outside == 0
    assert stats.mean == pytest.approx(voxels.mean(), abs=1e-9)
    assert stats.sd == pytest.approx(voxels.std(ddof=1), abs=1e-9)
    assert (stats.min, stats.max) == (voxels.min(), voxels.max())
    assert stats.area_mm2 == pytest.approx(voxels.size * 0.7 * 0.6)
    # and the known region value and noise
    assert abs(stats.mean - 100.0) < 3 * 10.0 / math.sqrt(stats.count)
    assert stats.sd == pytest.approx(10.0, rel=0.15)
    assert stats.unit == "HU" and "HU" in stats.label()


@pytest.mark.parametrize(("a", "b"), [(10.0, 6.0), (7.3, 4.1), (3.0, 12.5)])
def test_ellipse_area_matches_pi_a_b_within_pixel_tolerance(a: float, b: float) -> None:
    volume = noisy_volume()
    centre = volume.geometry.center
    roi = EllipseROI(make_plane("axial", centre, volume.geometry), centre, a, b)
    stats = ellipse_stats(volume, roi)
    du, dv = stats.step_mm
    assert (du, dv) == pytest.approx((0.7, 0.6))
    perimeter = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))  # Ramanujan
    assert abs(stats.area_mm2 - math.pi * a * b) <= 0.5 * perimeter * max(du, dv)
    assert stats.ellipse_area_mm2 == pytest.approx(math.pi * a * b)


@pytest.mark.parametrize("geometry", ["double_oblique", "sheared", "coronal_stack"])
def test_constant_region_on_oblique_planes_of_any_grid(geometry: str) -> None:
    direction, spacing = GEOMETRIES[geometry]
    volume = make_volume(two_regions, direction, spacing, dims=(48, 44, 30), center=(3, -5, 7))
    centre = np.array([-6.0, -5.0, 7.0])  # region 100, well inside
    plane = make_plane("coronal", centre, volume.geometry, normal=(0.2, 1.0, 0.3))
    stats = ellipse_stats(volume, EllipseROI(plane, centre, 5.0, 3.0))
    assert stats.count > 10 and stats.outside == 0
    assert (stats.mean, stats.sd, stats.min, stats.max) == pytest.approx((100.0, 0.0, 100.0, 100.0))
    # straddling the boundary (an axial ellipse, symmetric about x = SPLIT_X): half and half
    across = np.array([SPLIT_X, -5.0, 7.0])
    roi = EllipseROI(make_plane("axial", across, volume.geometry), across, 8.0, 8.0)
    mixed = ellipse_stats(volume, roi)
    assert mixed.min == pytest.approx(100.0) and mixed.max == pytest.approx(300.0)
    assert mixed.mean == pytest.approx(200.0, abs=15.0)


def test_roi_partly_outside_the_volume_counts_only_voxels_inside() -> None:
    volume = noisy_volume(sigma=0.0)
    g = volume.geometry
    edge = g.index_to_lps((0, 45, 4))  # on the first column of voxels
    roi = EllipseROI(make_plane("axial", edge, g), edge, 6.0, 6.0)
    stats = ellipse_stats(volume, roi)
    assert stats.outside > 0 and stats.count > 0
    assert stats.count + stats.outside == pytest.approx(stats.area_mm2 / (0.7 * 0.6))
    assert stats.count < stats.outside + stats.count
    assert stats.mean == pytest.approx(100.0)


def test_outline_and_corners() -> None:
    plane = make_plane("sagittal", (0.0, 0.0, 0.0))
    roi = EllipseROI.from_corners(plane, np.array([0.0, -4.0, 10.0]), np.array([0.0, 6.0, 4.0]))
    assert (roi.a, roi.b) == pytest.approx((5.0, 3.0))
    np.testing.assert_allclose(roi.centre, [0.0, 1.0, 7.0])
    ring = roi.outline(36)
    d = ring - roi.centre
    np.testing.assert_allclose((d @ plane.right / 5.0) ** 2 + (d @ plane.up / 3.0) ** 2, 1.0)
    assert roi.contains(roi.centre[None])[0] and not roi.contains(ring[:1] * 2 + 1)[0]
    with pytest.raises(ValueError, match="semi-axes"):
        EllipseROI(plane, roi.centre, 0.0, 2.0)
    volume = noisy_volume()
    assert native_steps(volume, make_plane("coronal", (0, 0, 0))) == pytest.approx((0.7, 2.0))


def test_real_tilted_ct_roi_equals_the_pixels_of_the_file() -> None:
    """Real Philips CT, 18.5 degree gantry tilt (shared corpus): an ellipse on the acquired
    plane covers exactly the file's pixels whose centres fall inside it (pydicom oracle)."""
    import pydicom

    from tests.shared_data import shared
    from viewer.dicom.assemble import assemble

    volume = assemble(shared("ct_gantry_tilt/Philips_Ingenuity_tilt-18.5"))[0]
    k = 30
    ds = pydicom.dcmread(volume.source_files[k])
    pixels = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    ipp = np.array(ds.ImagePositionPatient, float)
    row = np.array(ds.ImageOrientationPatient[:3], float)
    col = np.array(ds.ImageOrientationPatient[3:], float)
    ps_r, ps_c = (float(v) for v in ds.PixelSpacing)
    centre = ipp + 250.3 * ps_c * row + 240.6 * ps_r * col
    plane = make_plane("acquisition", centre, volume.geometry)
    roi = EllipseROI(plane, centre, a=20.0, b=12.0)
    stats = ellipse_stats(volume, roi)
    rr, cc = np.mgrid[0:pixels.shape[0], 0:pixels.shape[1]]
    d = ipp + (cc[..., None] * ps_c) * row + (rr[..., None] * ps_r) * col - centre
    inside = ((d @ row) / 20.0) ** 2 + ((d @ -col) / 12.0) ** 2 <= 1.0
    ref = pixels[inside].astype(float)
    assert stats.count == ref.size
    assert stats.mean == pytest.approx(ref.mean(), abs=1e-6)
    assert stats.sd == pytest.approx(ref.std(ddof=1), abs=1e-6)
    assert (stats.min, stats.max) == (ref.min(), ref.max())


def test_image_angle_uses_the_pixel_spacing() -> None:
    from viewer.render.measure import image_angle_deg

    assert image_angle_deg((10, 0), (0, 0), (10, 10)) == pytest.approx(45.0)
    # rows 2 mm apart, columns 1 mm: the same pixels make a steeper angle
    assert image_angle_deg((10, 0), (0, 0), (10, 10), spacing=(2.0, 1.0)) == pytest.approx(
        math.degrees(math.atan(2.0)))
    assert image_angle_deg((10, 0), (0, 0), (10, 10), aspect=2.0) == pytest.approx(
        math.degrees(math.atan(2.0)))


def test_image_ellipse_stats_equal_the_pixels_inside() -> None:
    from viewer.render.measure import image_ellipse_stats

    rng = np.random.default_rng(3)
    image = rng.normal(500.0, 25.0, (120, 160)).round().astype(np.int16)
    centre, a, b = (70.4, 50.7), 20.0, 11.5
    rr, cc = np.mgrid[0:120, 0:160]
    mask = ((cc - centre[0]) / a) ** 2 + ((rr - centre[1]) / b) ** 2 <= 1.0
    ref = image[mask].astype(float)
    stats = image_ellipse_stats(image, centre, a, b, spacing=(0.2, 0.1), unit="")
    assert stats.count == ref.size and stats.outside == 0
    assert (stats.mean, stats.sd) == pytest.approx((ref.mean(), ref.std(ddof=1)))
    assert (stats.min, stats.max) == (ref.min(), ref.max())
    assert stats.area_mm2 == pytest.approx(ref.size * 0.02) and stats.area_unit == "mm²"
    assert abs(stats.area_mm2 - stats.ellipse_area_mm2) < 0.03 * stats.ellipse_area_mm2
    # at the corner: part of the ellipse is outside the image; no spacing -> px²
    corner = image_ellipse_stats(image, (2.0, 3.0), 10.0, 10.0)
    assert corner.outside > 0 and corner.area_unit == "px²"
    assert corner.count + corner.outside == pytest.approx(corner.area_mm2)
    assert "px²" in corner.label()
