"""One offscreen slice render to a PNG: what ``regard render`` and ``regard demo`` call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viewer.dicom.volume import Volume
from viewer.render.planes import volume_corners


@dataclass
class SnapshotRequest:
    """Everything a slice snapshot needs; ``None`` means the default.

    ``normal`` tilts ``plane`` onto that LPS direction (oblique); ``point``
    defaults to the volume centre; ``window`` is (width, level) and defaults
    to the series' header window, else the modality default.
    """

    plane: str = "axial"
    point: tuple[float, float, float] | None = None
    normal: tuple[float, float, float] | None = None
    window: tuple[float, float] | None = None
    slab_mm: float = 0.0
    slab_mode: str = "mip"
    size: tuple[int, int] = (512, 512)
    overlay: bool = False
    zoom: float = 1.0
    interpolation: str = "linear"


def plane_misses_volume(volume: Volume, point: np.ndarray, normal: np.ndarray) -> bool:
    """True when the plane (point, normal) does not cut the voxel grid at all."""
    d = (volume_corners(volume.geometry) - point) @ normal
    return bool(d.min() > 0 or d.max() < 0)


def render_snapshot(volume: Volume, request: SnapshotRequest, out: str | Path) -> dict[str, Any]:
    """Render the slice described by ``request`` to the PNG ``out``; returns a description."""
    from viewer.render.slice_view import SliceView

    view = SliceView(volume, size=request.size, overlay=request.overlay, plane=request.plane)
    if request.point is not None:
        view.set_point(request.point)
    if request.normal is not None:
        view.set_plane(request.plane, normal=request.normal)
    if request.window is not None:
        view.set_window(*request.window)
    if request.slab_mm > 0:
        view.set_slab(request.slab_mm, request.slab_mode)
    view.set_interpolation(request.interpolation)
    if request.zoom != 1.0:
        view.set_zoom(request.zoom)
    path = view.save_png(out)
    plane = view.plane
    return {
        "output": str(path),
        "size": list(request.size),
        "plane": plane.name,
        "point": [float(v) for v in view.point],
        "normal": [float(v) for v in plane.normal],
        "screen_right": [float(v) for v in plane.right],
        "screen_up": [float(v) for v in plane.up],
        "labels": plane.edge_labels(),
        "window": {"width": view.width, "level": view.center},
        "slab": {"mm": view.slab_mm, "mode": view.slab_mode} if view.slab_mm > 0 else None,
        "mm_per_pixel": view.mm_per_pixel(),
        "lossy": bool(volume.lossy),
        "misses_volume": plane_misses_volume(volume, view.point, plane.normal),
    }
