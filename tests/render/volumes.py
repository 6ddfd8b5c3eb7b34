"""Synthetic volumes with known geometry for render tests, and an independent sampling oracle.

Voxel values are computed from the *patient* (LPS) position of each voxel
centre, so what a correct renderer shows depends on anatomy only, never on
how the stack happens to be stored.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume


def rotation(z_deg: float, x_deg: float) -> np.ndarray:
    """Rotation about z then x (a double-oblique orientation)."""
    a, b = np.radians(z_deg), np.radians(x_deg)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rx @ rz


def tilt_direction(tilt_deg: float) -> np.ndarray:
    """Gantry tilt: rows along x, columns tilted about x, slices stacked along z (sheared)."""
    t = np.radians(tilt_deg)
    return np.column_stack([(1, 0, 0), (0, np.cos(t), -np.sin(t)), (0, 0, 1)])


GEOMETRIES: dict[str, tuple[np.ndarray, tuple[float, float, float]]] = {
    # name: (direction, spacing)
    "axial": (np.eye(3), (0.9, 0.8, 2.0)),
    # stored right-to-left, posterior-to-anterior, feet first
    "flipped": (np.diag([-1.0, 1.0, -1.0]), (1.0, 0.9, 1.5)),
    # slices sorted against the normal: a left-handed voxel frame
    "reversed_stack": (np.diag([1.0, 1.0, -1.0]), (0.7, 0.7, 3.0)),
    "coronal_stack": (np.column_stack([(1, 0, 0), (0, 0, -1), (0, 1, 0)]), (0.8, 0.8, 2.5)),
    "double_oblique": (rotation(20, 15), (1.0, 1.1, 1.7)),
    "sheared": (tilt_direction(18.5), (0.9, 0.9, 2.2)),
}


def make_volume(
    func: Callable[[np.ndarray], np.ndarray],
    direction: np.ndarray,
    spacing: tuple[float, float, float],
    dims: tuple[int, int, int] = (48, 44, 36),
    center: tuple[float, float, float] = (3.0, -5.0, 7.0),
    dtype: type = np.float32,
    **kwargs: object,
) -> Volume:
    """A volume of ``dims`` (i, j, k) whose voxel (i, j, k) holds ``func(lps of its centre)``,
    its grid centred on ``center``."""
    direction = np.asarray(direction, dtype=float)
    half = (np.asarray(dims, dtype=float) - 1) / 2
    origin = np.asarray(center) - (direction * np.asarray(spacing)) @ half
    geometry = Geometry(dims, spacing, origin, direction)
    k, j, i = np.meshgrid(*(np.arange(n) for n in dims[::-1]), indexing="ij")
    ijk = np.stack([i, j, k], axis=-1).reshape(-1, 3).astype(float)
    lps = geometry.index_to_lps(ijk)
    values = func(lps).reshape(dims[::-1]).astype(dtype)
    return Volume(values, geometry, **kwargs)  # type: ignore[arg-type]


def smooth_field(lps: np.ndarray) -> np.ndarray:
    x, y, z = lps[:, 0], lps[:, 1], lps[:, 2]
    return 100 * np.sin(x / 7.0) + 80 * np.cos(y / 5.0) * np.sin(z / 9.0) + 0.5 * x * z


def linear_field(lps: np.ndarray) -> np.ndarray:
    return 3.0 * lps[:, 0] - 2.0 * lps[:, 1] + 1.5 * lps[:, 2] + 10.0


MARKERS = {"left": 1000.0, "anterior": 600.0, "head": 300.0}


def marker_field(center: tuple[float, float, float], reach: float = 14.0) -> Callable:
    """Body 100 with three bright blobs: patient left (+x), anterior (-y), head (+z) of center."""
    c = np.asarray(center, dtype=float)

    def func(lps: np.ndarray) -> np.ndarray:
        d = lps - c
        out = np.where(np.linalg.norm(d, axis=1) < 1.6 * reach, 100.0, 0.0)
        for axis, sign, name in ((0, 1, "left"), (1, -1, "anterior"), (2, 1, "head")):
            m = c.copy()
            m[axis] += sign * reach
            out = np.where(np.linalg.norm(lps - m, axis=1) < 5.0, MARKERS[name], out)
        return out

    return func


def trilinear(volume: Volume, lps: np.ndarray) -> np.ndarray:
    """Oracle: trilinear sample of ``volume`` at LPS points via the inverse affine.

    NaN where a point is outside the voxel-centre grid (or within 1e-3 voxel of its faces).
    """
    pts = np.asarray(lps, dtype=float).reshape(-1, 3)
    idx = volume.geometry.lps_to_index(pts)
    dims = np.asarray(volume.geometry.dims)
    inside = np.all((idx >= 1e-3) & (idx <= dims - 1 - 1e-3), axis=1)
    idx = np.clip(idx, 0, dims - 1)
    base = np.minimum(np.floor(idx).astype(int), dims - 2)
    frac = idx - base
    a = volume.array.astype(float)
    out = np.zeros(len(pts))
    for corner in range(8):
        off = np.array([(corner >> b) & 1 for b in range(3)])
        w = np.prod(np.where(off, frac, 1 - frac), axis=1)
        ii = base + off
        out += w * a[ii[:, 2], ii[:, 1], ii[:, 0]]
    out[~inside] = np.nan
    return out.reshape(np.asarray(lps).shape[:-1])
