"""Slice planes in patient space (LPS) and their screen axes; no VTK, no Qt.

A :class:`Plane` is a point plus two orthonormal LPS vectors: ``right`` (the
screen's +x, to the right) and ``up`` (the screen's +y, upwards). Its
``normal = right x up`` points from the screen towards the viewer, so the
frame (right, up, normal) is right-handed and a VTK camera placed on +normal
looking back with view-up ``up`` shows ``right`` to the right.

Display conventions (radiological, PS3.3 C.7.6.1.1.1 directions, LPS):

* axial: patient left on image right (+x = L), anterior up (up = -y);
* coronal: patient left on image right, head up (up = +z);
* sagittal: anterior on image left (right = +y = P), head up;
* acquisition: the slices as stored, first row at the top and first column
  on the left (right = row direction, up = -column direction);
* oblique: a reference plane above tilted onto a given normal by the
  smallest rotation, so a nearly-axial oblique still looks like an axial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.dicom.geometry import Geometry, orientation_label

PLANE_NAMES = ("axial", "coronal", "sagittal", "acquisition")

_STANDARD = {
    "axial": ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}


def _unit(v: np.ndarray | tuple[float, ...]) -> np.ndarray:
    a = np.asarray(v, dtype=float).reshape(3)
    n = float(np.linalg.norm(a))
    if n == 0 or not np.isfinite(n):
        raise ValueError(f"not a direction: {tuple(a)}")
    return a / n


@dataclass(frozen=True)
class Plane:
    """An oriented slice plane: ``point`` on it and the screen axes in LPS."""

    point: np.ndarray
    right: np.ndarray
    up: np.ndarray
    name: str = "oblique"

    def __post_init__(self) -> None:
        right = _unit(self.right)
        up = np.asarray(self.up, dtype=float).reshape(3)
        up = _unit(up - np.dot(up, right) * right)  # Gram-Schmidt: exact orthonormal axes
        object.__setattr__(self, "right", right)
        object.__setattr__(self, "up", up)
        object.__setattr__(self, "point", np.asarray(self.point, dtype=float).reshape(3))
        # right x up, once: np.cross on 3-vectors costs ~40 us and the MPR asks for the
        # normal ~50 times a frame (bench/interaction.py)
        (a, b, c), (d, e, f) = right.tolist(), up.tolist()
        object.__setattr__(self, "_normal", np.array([b * f - c * e, c * d - a * f,
                                                      a * e - b * d]))

    @property
    def normal(self) -> np.ndarray:
        """Unit normal towards the viewer (right x up); a copy (callers may change it)."""
        return self._normal.copy()  # type: ignore[attr-defined]

    @property
    def rotation(self) -> np.ndarray:
        """3x3 matrix whose columns are right, up, normal."""
        return np.column_stack([self.right, self.up, self.normal])

    def with_point(self, point: np.ndarray | tuple[float, float, float]) -> Plane:
        # the axes are orthonormal already: no Gram-Schmidt again (a dozen moves a frame)
        moved = object.__new__(Plane)
        for name, value in (("point", np.asarray(point, dtype=float).reshape(3)),
                            ("right", self.right), ("up", self.up), ("name", self.name),
                            ("_normal", self._normal)):  # type: ignore[attr-defined]
            object.__setattr__(moved, name, value)
        return moved

    def to_plane(self, lps: np.ndarray) -> np.ndarray:
        """(u, v, w) mm of LPS points in the plane frame centred on ``point``."""
        return (np.asarray(lps, dtype=float) - self.point) @ self.rotation

    def to_lps(self, uvw: np.ndarray) -> np.ndarray:
        """LPS points of plane-frame coordinates (u, v[, w]) mm."""
        a = np.asarray(uvw, dtype=float)
        if a.shape[-1] == 2:
            a = np.concatenate([a, np.zeros((*a.shape[:-1], 1))], axis=-1)
        return self.point + a @ self.rotation.T

    def edge_labels(self) -> dict[str, str]:
        """Orientation letters at each screen edge (PS3.3 C.7.6.1.1.1 letters L/R, A/P, H/F)."""
        return {
            "left": orientation_label(-self.right),
            "right": orientation_label(self.right),
            "top": orientation_label(self.up),
            "bottom": orientation_label(-self.up),
        }


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation (3x3) taking unit vector ``a`` onto unit vector ``b`` (Rodrigues)."""
    a, b = _unit(a), _unit(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        # opposite: rotate 180 degrees around any axis perpendicular to a
        axis = _unit(np.cross(a, np.eye(3)[int(np.argmin(np.abs(a)))]))
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k * ((1 - c) / s**2)


def standard_axes(name: str, geometry: Geometry | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(right, up) LPS screen axes of a named plane (module docstring conventions)."""
    if name in _STANDARD:
        r, u = _STANDARD[name]
        return np.array(r), np.array(u)
    if name == "acquisition":
        if geometry is None:
            raise ValueError("the acquisition plane needs the volume geometry")
        return geometry.direction[:, 0].copy(), -geometry.direction[:, 1]
    raise ValueError(f"unknown plane {name!r}: expected one of {', '.join(PLANE_NAMES)}")


def make_plane(
    name: str,
    point: np.ndarray | tuple[float, float, float],
    geometry: Geometry | None = None,
    normal: np.ndarray | tuple[float, float, float] | None = None,
) -> Plane:
    """A named plane through ``point``, optionally tilted onto ``normal`` (oblique).

    The normal's sign does not matter (a plane has two); the tilt is the
    smallest rotation taking the reference plane's normal onto ``normal``,
    applied to its screen axes, so the orientation letters stay sensible.
    """
    right, up = standard_axes(name, geometry)
    if normal is None:
        return Plane(np.asarray(point, dtype=float), right, up, name)
    n_ref = np.cross(right, up)
    n = _unit(normal)
    if np.dot(n, n_ref) < 0:
        n = -n
    rot = rotation_between(n_ref, n)
    tilted = bool(np.degrees(np.arccos(min(1.0, float(np.dot(n, n_ref))))) > 1e-6)
    label = f"oblique ({name})" if tilted else name
    return Plane(np.asarray(point, dtype=float), rot @ right, rot @ up, label)


def volume_corners(geometry: Geometry) -> np.ndarray:
    """LPS positions (8x3) of the outer corners of the voxel grid (voxel edges, not centres)."""
    dims = np.asarray(geometry.dims, dtype=float)
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    ijk = corners * dims - 0.5
    return geometry.index_to_lps(ijk)
