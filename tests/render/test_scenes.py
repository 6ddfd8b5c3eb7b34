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
