"""MPR scene (linked point, crosshair, oblique rotation), volume rendering, backend check."""

from __future__ import annotations

import numpy as np
import pytest

from tests.render.volumes import GEOMETRIES, MARKERS, make_volume, marker_field
from viewer.render.mpr import COLORS, MPRScene

CENTER = (3.0, -5.0, 7.0)


def _volume(geometry: str = "double_oblique", **kwargs: object):
    direction, spacing = GEOMETRIES[geometry]
    dims = tuple(round(60 / s) for s in spacing)
    return make_volume(marker_field(CENTER), direction, spacing, dims=dims, center=CENTER,
                       **kwargs)


def _has_color(rgb: np.ndarray, color: tuple[int, int, int], tol: int = 30) -> np.ndarray:
    return np.all(np.abs(rgb.astype(int) - np.array(color)) <= tol, axis=-1)


def test_mpr_crosshair_marks_the_shared_point_in_each_view() -> None:
    scene = MPRScene(_volume(), size=(600, 200), overlay=False)
    point = np.asarray(CENTER) + np.array([6.0, -4.0, 5.0])
    scene.set_point(point)
    rgb = scene.to_array()
    for name, view in scene.views.items():
        x, y = view.to_display(point)
        others = [n for n in scene.views if n != name]
        # each other plane's line passes through the point's pixel, in that plane's colour
        for other in others:
            near = rgb[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4]
            assert _has_color(near, COLORS[other]).any(), (name, other)
        # and the point is on this view's plane
        assert abs((point - view.plane.point) @ view.plane.normal) < 1e-9


def test_mpr_click_moves_the_other_planes() -> None:
    scene = MPRScene(_volume("axial"), size=(600, 200), overlay=False)
    coronal = scene.views["coronal"]
    target = np.asarray(CENTER) + np.array([10.0, 0.0, 12.0])
    target_on_plane = target - ((target - coronal.plane.point) @ coronal.plane.normal) * \
        coronal.plane.normal
    lps = scene.click("coronal", coronal.to_display(target_on_plane))
    np.testing.assert_allclose(lps, target_on_plane, atol=1e-6)
    assert scene.views["axial"].point[2] == pytest.approx(target_on_plane[2])
    assert scene.views["sagittal"].point[0] == pytest.approx(target_on_plane[0])


def test_mpr_rotation_keeps_planes_orthogonal_and_point_fixed() -> None:
    scene = MPRScene(_volume(), size=(300, 100), overlay=False)
    point = np.asarray(CENTER) + 2.0
    scene.set_point(point)
    scene.views["sagittal"].set_zoom(2.0)
    scene.rotate("axial", 30.0)
    assert scene.views["sagittal"].zoom == 2.0
    scene.rotate("coronal", -15.0)
    normals = np.array([v.plane.normal for v in scene.views.values()])
    np.testing.assert_allclose(normals @ normals.T, np.eye(3), atol=1e-9)
    for view in scene.views.values():
        assert abs((point - view.plane.point) @ view.plane.normal) < 1e-9
    sagittal = scene.views["sagittal"]
    assert sagittal.plane.name.startswith("oblique")
    scene.reset_orientation()
    np.testing.assert_allclose(scene.views["axial"].plane.normal, [0, 0, -1], atol=1e-12)


def test_mpr_scroll_moves_along_the_view_normal() -> None:
    scene = MPRScene(_volume("axial"), size=(300, 100), overlay=False)
    z0 = scene.point[2]
    scene.scroll("axial", 3)
    step = scene.views["axial"].slice_step()
    assert step == pytest.approx(GEOMETRIES["axial"][1][2])
    # scrolling "towards the viewer" in an axial view goes to the feet (normal = -z)
    assert scene.point[2] == pytest.approx(z0 - 3 * step)


def test_volume_rendering_anterior_view_puts_patient_left_on_image_right() -> None:
    from viewer.render.volume_rendering import VolumeRenderView

    view = VolumeRenderView(_volume("sheared", modality="CT"), size=(160, 160), preset="mip")
    view.set_range(0.0, 1000.0)
    rgb = view.to_array().astype(float)
    grey = rgb.mean(axis=2)
    ys, xs = np.nonzero(grey > 0.9 * grey.max())  # the brightest marker is the left one
    assert xs.mean() > 80 + 8
    assert abs(ys.mean() - 80) < 12
    assert MARKERS["left"] == max(MARKERS.values())


def test_volume_rendering_presets_and_interaction_resolution() -> None:
    from viewer.render.volume_rendering import PRESETS, VolumeRenderView

    view = VolumeRenderView(_volume("axial", modality="CT"), size=(120, 120))
    assert view.preset == "ct-bone"
    full = view.to_array()
    assert full.max() > 0
    view.set_interacting(True)
    assert view.mapper.GetImageSampleDistance() > 1
    coarse = view.to_array()
    assert coarse.shape == full.shape and coarse.max() > 0
    for name in PRESETS:
        view.set_preset(name)
    with pytest.raises(ValueError, match="unknown preset"):
        view.set_preset("nope")
    view.set_view("superior")
    view.rotate(30, 10)
    assert view.to_array().shape == (120, 120, 3)


def _plate(spacing: float, n: int = 40) -> object:
    """A CT volume of cubic voxels with a one-voxel-thick bright plate (normal along j)."""
    from viewer.dicom.geometry import Geometry
    from viewer.dicom.volume import Volume

    array = np.full((n, n, n), -1000, np.int16)
    array[:, n // 2, :] = 1000
    geometry = Geometry((n, n, n), (spacing,) * 3, np.zeros(3), np.eye(3))
    return Volume(array, geometry, modality="CT")


def _plate_mip(spacing: float) -> np.ndarray:
    from viewer.render.volume_rendering import VolumeRenderView

    view = VolumeRenderView(_plate(spacing), size=(200, 200), preset="mip")
    view.set_range(-1000.0, 1000.0)
    view.rotate(azimuth=37, elevation=23)  # oblique rays: each meets the plate differently
    return view.to_array().astype(float).mean(axis=2)


def test_volume_rendering_samples_a_thin_plate_evenly_whatever_the_voxel_size() -> None:
    """Samples along a ray are spaced in voxels (two a voxel), not in mm: with 3 mm voxels a
    one-voxel plate is met by every ray as with 0.5 mm ones (a step of half the smallest
    spacing *in mm* was 1.5 voxels there, and the plate showed bands of 1/4 its brightness)."""
    fine, coarse = _plate_mip(0.5), _plate_mip(3.0)
    plate = coarse > 0.1 * coarse.max()
    assert plate.mean() > 0.1  # the plate fills a good part of the picture
    # even brightness across the plate (its rim, partly covered, aside)
    assert np.percentile(coarse[plate], 5) > 0.5 * coarse.max()
    # same picture: the same voxels, framed the same way
    assert np.abs(fine - coarse).mean() < 1.0


def test_volume_rendering_interaction_reduces_rays_and_release_restores_the_frame() -> None:
    from viewer.render.volume_rendering import (
        FULL_STEP,
        INTERACTIVE_RAYS,
        VolumeRenderView,
    )

    view = VolumeRenderView(_volume("axial", modality="CT"), size=(1024, 1024), preset="mip")
    view.set_range(0.0, 1000.0)
    view.rotate(azimuth=20, elevation=10)
    full = view.to_array()
    assert full.max() > 100  # the markers are drawn
    assert view.mapper.GetImageSampleDistance() == 1.0
    assert view.mapper.GetSampleDistance() == FULL_STEP
    assert view.property.GetInterpolationTypeAsString() == "Linear"
    view.set_interacting(True)
    coarse = view.to_array()
    # about INTERACTIVE_RAYS rays across the viewport, one sample a voxel, nearest voxels
    assert 1024 / view.mapper.GetImageSampleDistance() == pytest.approx(INTERACTIVE_RAYS)
    assert view.mapper.GetSampleDistance() > FULL_STEP
    assert view.property.GetInterpolationTypeAsString() == "Nearest Neighbor"
    assert coarse.max() > 100 and np.abs(coarse.astype(int) - full).mean() > 0.05
    view.set_interacting(False)
    np.testing.assert_array_equal(view.to_array(), full)  # release: the same full frame
    # a composite preset keeps trilinear samples while interacting
    view.set_preset("ct-bone")
    view.set_interacting(True)
    assert view.property.GetInterpolationTypeAsString() == "Linear"
    small = VolumeRenderView(_volume("axial", modality="CT"), size=(300, 300))
    small.set_interacting(True)
    assert small.mapper.GetImageSampleDistance() == 2.0  # a small cell: every other pixel


def test_volume_rendering_reads_ct_shifted_to_zero_with_the_same_picture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ray caster reads an int16 CT shifted to a minimum of 0 (its faster paths); the
    presets' HU follow it: the picture is the one of the voxels read as they are."""
    import dataclasses

    from viewer.render import volume_rendering as vr

    ct = _volume("axial", modality="CT", dtype=np.int16)
    air = np.where(ct.array == 0, -1000, ct.array).astype(np.int16)  # markers 300-1000 HU
    ct = dataclasses.replace(ct, array=air)
    pictures = {}
    for shifted in (True, False):
        if not shifted:
            monkeypatch.setattr(vr, "ray_cast_voxels", lambda data: (data.array, 0.0))
        for preset in ("ct-bone", "ct-soft-tissue", "mip"):
            view = vr.VolumeRenderView(ct, size=(160, 160), preset=preset)
            view.rotate(azimuth=30, elevation=15)
            assert (view._voxels.min() == 0) == shifted
            pictures[shifted, preset] = view.to_array().astype(int)
    for preset in ("ct-bone", "ct-soft-tissue", "mip"):
        a, b = pictures[True, preset], pictures[False, preset]
        assert a.max() > 50, preset
        assert np.abs(a - b).mean() < 0.1, preset


def test_backend_check_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from viewer.render import backend

    assert backend.check_backend()
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("VTK_DEFAULT_OPENGL_WINDOW", raising=False)
    monkeypatch.setattr(backend, "_loadable", lambda *names: None)
    with pytest.raises(backend.BackendError) as err:
        backend.check_backend()
    message = str(err.value)
    assert "libEGL.so.1" in message and "libosmesa6" in message and "libegl1" in message


def test_backend_probe_renders_in_a_child_process() -> None:
    from viewer.render.backend import probe_render

    assert probe_render().startswith("vtk")


def test_offscreen_windows_leave_the_process_environment_alone() -> None:
    """Pinning VTK_DEFAULT_OPENGL_WINDOW would send later Qt/X11 windows to EGL."""
    import os

    from viewer.render.backend import backend_status
    from viewer.render.slice_view import SliceView

    before = os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")
    view = SliceView(_volume("axial"), size=(32, 32), overlay=False)
    assert os.environ.get("VTK_DEFAULT_OPENGL_WINDOW") == before
    if before is None:
        assert view.window.GetClassName() == backend_status().window_class
    assert view.to_array().shape == (32, 32, 3)
