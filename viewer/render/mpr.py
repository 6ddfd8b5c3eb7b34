"""MPR: three mutually orthogonal slice views sharing one point, with a crosshair.

Qt-free. The GUI hosts each view's render window (one per
``QVTKRenderWindowInteractor``) or lets the scene create one offscreen window
with the three views side by side. Oblique MPR: :meth:`MPRScene.rotate` turns
the two *other* planes about one view's normal through the shared point, so
the three planes stay mutually orthogonal (as in the usual "rotate the
crosshair" interaction).
"""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.vtkRenderingCore import vtkRenderWindow

from viewer.dicom.volume import Volume
from viewer.render.image import VolumeImage
from viewer.render.planes import Plane, make_plane, rotation_between
from viewer.render.slice_view import SliceView, _new_offscreen_window

VIEW_NAMES = ("axial", "coronal", "sagittal")
# Crosshair colours (RGB 0-255) by plane, as 3D Slicer: red axial, green coronal, yellow sagittal.
COLORS = {"axial": (230, 80, 80), "coronal": (90, 200, 90), "sagittal": (230, 210, 70)}


def axis_rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    """Right-handed rotation matrix of ``degrees`` about unit ``axis``."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    t = math.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * (k @ k)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b for 3-vectors (np.cross costs ~40 us; six a crosshair move)."""
    (x, y, z), (u, v, w) = a.tolist(), b.tolist()
    return np.array([y * w - z * v, z * u - x * w, x * v - y * u])


class MPRScene:
    """Axial, coronal and sagittal views of one volume with a linked point and crosshair.

    Parameters
    ----------
    render_windows:
        ``None``: one offscreen window of ``size`` with the views side by side;
        a ``dict`` view name -> vtkRenderWindow (the GUI's): each view fills its window.
    """

    def __init__(
        self,
        volume: Volume | VolumeImage,
        render_windows: dict[str, vtkRenderWindow] | None = None,
        size: tuple[int, int] = (1536, 512),
        overlay: bool = True,
    ) -> None:
        self.data = volume if isinstance(volume, VolumeImage) else VolumeImage(volume)
        self.volume = self.data.volume
        self.views: dict[str, SliceView] = {}
        shared = _new_offscreen_window(size) if render_windows is None else None
        for n, name in enumerate(VIEW_NAMES):
            if shared is not None:
                viewport = (n / 3, 0.0, (n + 1) / 3, 1.0)
                self.views[name] = SliceView(
                    self.data, shared, viewport, plane=name, overlay=overlay
                )
            else:
                assert render_windows is not None
                self.views[name] = SliceView(
                    self.data, render_windows[name], plane=name, overlay=overlay
                )
        self.window = shared
        self.point = self.volume.geometry.center.copy()
        self.crosshair_visible = True
        self._update_crosshairs()

    # ------------------------------------------------------------------ state
    def set_point(self, lps: np.ndarray | tuple[float, float, float]) -> None:
        """Move all three planes to pass through ``lps``."""
        self.point = np.asarray(lps, dtype=float).reshape(3).copy()
        for view in self.views.values():
            view.set_point(self.point)
        self._update_crosshairs()

    def click(self, name: str, display_xy: tuple[float, float]) -> np.ndarray:
        """Point under a click in one view becomes the shared point (returned, LPS)."""
        lps = self.views[name].pick(display_xy)
        self.set_point(lps)
        return lps

    def scroll(self, name: str, steps: float) -> None:
        """Scroll one view along its normal; the others follow through the shared point."""
        view = self.views[name]
        self.set_point(self.point + steps * view.slice_step() * view.plane.normal)

    def set_window(self, width: float, level: float) -> None:
        for view in self.views.values():
            view.set_window(width, level)

    def set_slab(self, thickness_mm: float, mode: str = "mip") -> None:
        for view in self.views.values():
            view.set_slab(thickness_mm, mode)

    def rotate(self, name: str, degrees: float) -> None:
        """Oblique MPR: turn the two other planes by ``degrees`` about view ``name``'s normal."""
        axis = self.views[name].plane.normal
        rot = axis_rotation(axis, degrees)
        for other, view in self.views.items():
            if other == name:
                continue
            p = view.plane
            zoom = view.zoom  # the user's magnification survives the rotation
            view.set_plane(Plane(self.point, rot @ p.right, rot @ p.up, f"oblique ({other})"))
            view.set_zoom(zoom)
        self._update_crosshairs()

    def reset_orientation(self) -> None:
        """Back to true axial/coronal/sagittal through the current point."""
        for name, view in self.views.items():
            view.set_plane(make_plane(name, self.point, self.volume.geometry))
        self._update_crosshairs()

    def align_to(self, normal: np.ndarray, name: str = "axial") -> None:
        """Tilt the whole frame so view ``name`` gets ``normal`` (others follow, orthogonal)."""
        current = self.views[name].plane.normal
        n = np.asarray(normal, dtype=float)
        if np.dot(n, current) < 0:
            n = -n
        rot = rotation_between(current, n)
        for other, view in self.views.items():
            p = view.plane
            label = f"oblique ({other})"
            view.set_plane(Plane(self.point, rot @ p.right, rot @ p.up, label))
        self._update_crosshairs()

    def set_crosshair_visible(self, visible: bool) -> None:
        self.crosshair_visible = visible
        self._update_crosshairs()

    def _update_crosshairs(self) -> None:
        for name, view in self.views.items():
            if not self.crosshair_visible:
                view.set_crosshair([])
                continue
            lines = []
            for other, other_view in self.views.items():
                if other == name:
                    continue
                direction = _cross(view.plane.normal, other_view.plane.normal)
                lines.append((self.point, direction, COLORS[other]))
            view.set_crosshair(lines)

    # ----------------------------------------------------------------- output
    def render(self) -> None:
        windows = []
        for view in self.views.values():
            view.prepare()
            if view.window not in windows:
                windows.append(view.window)
        for window in windows:
            window.Render()

    def to_array(self) -> np.ndarray:
        """RGB of the shared offscreen window (views side by side), row 0 on top."""
        if self.window is None:
            raise RuntimeError("to_array() needs the scene's own window; use each view's")
        self.render()
        from viewer.render.image import window_rgb

        return window_rgb(self.window)
