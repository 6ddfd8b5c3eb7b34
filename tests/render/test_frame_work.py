"""What a frame skips must never leave stale pixels or text: the per-frame caches of
SliceView (overlay text, reslice matrix), Plane.with_point and the corner slice numbers."""

from __future__ import annotations

import numpy as np

from tests.render.volumes import GEOMETRIES, make_volume, smooth_field
from viewer.render.planes import Plane
from viewer.render.slice_view import SliceView
from viewer.ui.models import ViewportModel


def _volume(name: str = "double_oblique"):
    direction, spacing = GEOMETRIES[name]
    return make_volume(smooth_field, direction, spacing, dtype=np.int16)


def _text(view: SliceView, anchor: str) -> str:
    return next(i.text for i in view.overlay.items() if i.anchor == anchor)


def test_with_point_is_the_plane_built_through_that_point() -> None:
    p = Plane(np.zeros(3), np.array([1.0, 0.2, 0.0]), np.array([0.1, 1.0, 0.3]), "oblique")
    moved = p.with_point((4.0, -2.0, 7.5))
    built = Plane(np.array([4.0, -2.0, 7.5]), p.right, p.up, "oblique")
    # the same plane, but its axes kept as they are (re-normalising moves the last bit)
    for attr in ("point", "right", "up", "normal", "rotation"):
        assert np.allclose(getattr(moved, attr), getattr(built, attr), rtol=0, atol=1e-12)
    assert np.array_equal(moved.right, p.right) and np.array_equal(moved.normal, p.normal)
    assert moved.name == "oblique"
    assert np.array_equal(p.point, np.zeros(3))  # the original is untouched


def test_overlay_text_follows_every_change_and_is_not_redrawn_otherwise() -> None:
    view = SliceView(_volume(), size=(160, 160), plane="axial")
    view.render()
    before = _text(view, "bottom-left")
    misses = view.overlay.cache.misses
    view.prepare()  # nothing changed: no block rasterised again
    assert view.overlay.cache.misses == misses
    view.scroll(3)
    assert _text(view, "bottom-left") != before
    assert _text(view, "bottom-left").endswith(view.position_text())
    view.set_window(123, 45)
    assert _text(view, "bottom-right").startswith("W 123  L 45")
    view.set_corner_text("top-left", "X")
    assert _text(view, "top-left") == "X"
    view.set_plane("coronal")
    assert _text(view, "bottom-left").startswith("Coronal")
    assert _text(view, "top") == view.plane.edge_labels()["top"]


def test_reslice_axes_follow_the_plane() -> None:
    view = SliceView(_volume(), size=(96, 96), plane="axial")
    first = view.slice_array()
    view.scroll(2)
    moved = view.slice_array()
    view.scroll(-2)
    assert not np.array_equal(first, moved)
    assert np.array_equal(view.slice_array(), first)


def test_corner_slice_numbers_follow_plane_and_point() -> None:
    model = ViewportModel(_volume("axial"), plane="axial")
    for plane in ("axial", "coronal", "sagittal", "axial"):
        model.set_plane(plane)
        for index in (0, 3, model.slice_count() - 1):
            model.set_slice(index)
            text = model.corner_texts()["bottom-left"]
            assert f"Image {model.slice_index() + 1}/{model.slice_count()}" in text
            assert f"Thickness {model.slice_step():.2g} mm" in text
