"""Voxel <-> patient (LPS) geometry of a volume (PS3.3 C.7.6.2.1.1).

Conventions used everywhere in Regard:

* voxel index ``(i, j, k)``: ``i`` along a row (column index, DICOM's first
  Image Orientation vector), ``j`` down the columns (row index, second IOP
  vector), ``k`` along the stack;
* ``dims`` is ``(columns, rows, slices)`` and a volume's numpy array has shape
  ``(slices, rows, columns)`` so that ``array[k, j, i]`` is voxel ``(i, j, k)``;
* ``direction`` is 3x3 with columns the unit vectors of the i, j, k axes in
  patient LPS. With gantry tilt the k column is *not* perpendicular to the
  first two (a sheared stack): it is the unit vector between consecutive
  Image Position (Patient) values, which is the exact DICOM geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Patient direction letters for +x, +y, +z in LPS (and their opposites).
_POSITIVE = ("L", "P", "H")
_NEGATIVE = ("R", "A", "F")


@dataclass(frozen=True)
class Geometry:
    """Affine geometry of a regular voxel grid in patient coordinates (mm, LPS)."""

    dims: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: np.ndarray
    direction: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", np.asarray(self.origin, dtype=float).reshape(3))
        object.__setattr__(self, "direction", np.asarray(self.direction, dtype=float).reshape(3, 3))

    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous voxel (i, j, k, 1) to LPS mm."""
        m = np.eye(4)
        m[:3, :3] = self.direction * np.asarray(self.spacing, dtype=float)
        m[:3, 3] = self.origin
        return m

    @property
    def normal(self) -> np.ndarray:
        """Unit normal of the slice planes (row x column direction)."""
        n = np.cross(self.direction[:, 0], self.direction[:, 1])
        return n / np.linalg.norm(n)

    @property
    def shear_degrees(self) -> float:
        """Angle between the stack direction and the slice normal (gantry tilt)."""
        c = abs(float(np.dot(self.normal, self.direction[:, 2])))
        return float(np.degrees(np.arccos(min(1.0, c))))

    def index_to_lps(self, ijk: np.ndarray | tuple[float, float, float]) -> np.ndarray:
        p = np.asarray(ijk, dtype=float)
        return (self.affine[:3, :3] @ p.T).T + self.origin

    def lps_to_index(self, xyz: np.ndarray | tuple[float, float, float]) -> np.ndarray:
        """Continuous voxel index of a patient point (inverse affine)."""
        p = np.asarray(xyz, dtype=float) - self.origin
        return np.linalg.solve(self.affine[:3, :3], p.T).T

    @property
    def center(self) -> np.ndarray:
        """LPS position of the centre of the voxel grid."""
        return self.index_to_lps((np.asarray(self.dims, dtype=float) - 1) / 2)


def orientation_label(vector: np.ndarray | tuple[float, float, float], max_letters: int = 3) -> str:
    """Patient direction letters of a vector in LPS, strongest component first.

    Components under ~0.0001 of the largest are ignored; an oblique vector
    gets up to three letters (e.g. ``"LA"``) as radiologists expect.
    """
    v = np.asarray(vector, dtype=float)
    norm = np.linalg.norm(v)
    if norm == 0:
        return ""
    v = v / norm
    order = np.argsort(-np.abs(v))
    letters = []
    for axis in order[:max_letters]:
        if abs(v[axis]) < 1e-4:
            break
        letters.append(_POSITIVE[axis] if v[axis] > 0 else _NEGATIVE[axis])
    return "".join(letters)
