"""Measurements in patient space: distance, angle, elliptical ROI statistics; no VTK, no Qt.

Every coordinate is in patient LPS millimetres (PS3.3 C.7.6.2.1.1), so a
measurement made on any plane (acquisition, MPR, oblique) is in true mm
whatever the voxel grid.

Elliptical ROI (:class:`EllipseROI`, :func:`ellipse_stats`): an ellipse on a
slice plane, its semi-axes ``a`` along the plane's screen right and ``b``
along its screen up. Its statistics are computed from the volume *sampled on
that plane at native resolution*: a grid of sample points with the voxel
size along each screen axis as step, anchored on the projection of the voxel
centre nearest the ellipse's centre, so on the acquisition plane through a slice the samples are
the voxel centres themselves (each voxel counted once, no interpolation).
Samples are trilinear in modality units (after rescale: HU for CT,
PS3.3 C.11.1); samples outside the volume are left out and counted apart.
SD is the sample standard deviation (n - 1), as ImageJ and most viewers show
it. ``area_mm2`` is the number of sample points inside the ellipse times the
area of one sample cell (what the statistics cover), ``ellipse_area_mm2`` the
analytic pi a b.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viewer.dicom.volume import Volume
from viewer.render.curved import sample_trilinear
from viewer.render.planes import Plane


def distance_mm(p1: np.ndarray | tuple, p2: np.ndarray | tuple) -> float:
    """Euclidean distance (mm) between two LPS points."""
    d = np.asarray(p2, float).reshape(3) - np.asarray(p1, float).reshape(3)
    return float(np.linalg.norm(d))


def angle_deg(a: np.ndarray | tuple, vertex: np.ndarray | tuple, b: np.ndarray | tuple) -> float:
    """Angle (degrees, 0-180) at ``vertex`` between the rays towards ``a`` and ``b``."""
    v = np.asarray(vertex, float).reshape(3)
    u1 = np.asarray(a, float).reshape(3) - v
    u2 = np.asarray(b, float).reshape(3) - v
    n1, n2 = float(np.linalg.norm(u1)), float(np.linalg.norm(u2))
    if n1 < 1e-9 or n2 < 1e-9:
        raise ValueError("an angle needs two arms of non-zero length")
    # atan2 of |cross| and dot: accurate near 0 and 180 degrees as well
    return float(math.degrees(math.atan2(float(np.linalg.norm(np.cross(u1, u2))), float(u1 @ u2))))


def native_steps(volume: Volume, plane: Plane) -> tuple[float, float]:
    """Voxel size (mm) along the plane's right and up axes: the native sampling steps."""
    inv = np.linalg.inv(volume.geometry.affine[:3, :3])
    return tuple(  # type: ignore[return-value]
        float(1.0 / max(np.abs(inv @ axis).max(), 1e-9)) for axis in (plane.right, plane.up)
    )


@dataclass(frozen=True)
class EllipseROI:
    """An ellipse on a slice plane: ``centre`` (LPS), semi-axes ``a`` (mm) along ``plane.right``
    and ``b`` (mm) along ``plane.up``; the plane is taken through ``centre``."""

    plane: Plane
    centre: np.ndarray
    a: float
    b: float

    def __post_init__(self) -> None:
        if not (self.a > 0 and self.b > 0):
            raise ValueError(f"ellipse semi-axes must be > 0 mm, got {self.a} and {self.b}")
        c = np.asarray(self.centre, float).reshape(3)
        # the centre is projected onto the plane
        c = c - float((c - self.plane.point) @ self.plane.normal) * self.plane.normal
        object.__setattr__(self, "centre", c)

    @classmethod
    def from_corners(cls, plane: Plane, p1: np.ndarray, p2: np.ndarray) -> EllipseROI:
        """The ellipse inscribed in the screen-aligned box dragged from ``p1`` to ``p2`` (LPS)."""
        p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
        d = p2 - p1
        a = abs(float(d @ plane.right)) / 2
        b = abs(float(d @ plane.up)) / 2
        return cls(plane, (p1 + p2) / 2, a, b)

    @property
    def ellipse_area_mm2(self) -> float:
        return math.pi * self.a * self.b

    def contains(self, lps: np.ndarray) -> np.ndarray:
        """True for LPS points whose projection onto the plane falls inside the ellipse."""
        d = np.asarray(lps, float) - self.centre
        u = d @ self.plane.right / self.a
        v = d @ self.plane.up / self.b
        return u * u + v * v <= 1.0

    def outline(self, n: int = 72) -> np.ndarray:
        """(n, 3) LPS points around the ellipse, for drawing."""
        t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
        return (
            self.centre
            + np.outer(self.a * np.cos(t), self.plane.right)
            + np.outer(self.b * np.sin(t), self.plane.up)
        )


@dataclass(frozen=True)
class ROIStats:
    """Statistics of an ROI in modality units (``unit``, e.g. "HU")."""

    mean: float
    sd: float
    min: float
    max: float
    count: int  # samples inside the ellipse and the volume
    outside: int  # samples inside the ellipse but outside the volume
    area_mm2: float  # all samples inside the ellipse x one sample cell
    ellipse_area_mm2: float  # pi a b
    step_mm: tuple[float, float]
    unit: str = ""
    area_unit: str = "mm²"  # "px²" for a 2-D image without pixel spacing

    def label(self) -> str:
        u = f" {self.unit}" if self.unit else ""
        return (
            f"Mean {self.mean:.1f}{u}  SD {self.sd:.1f}\n"
            f"Min {self.min:g}  Max {self.max:g}\nArea {self.area_mm2:.1f} {self.area_unit}"
        )


def roi_samples(
    volume: Volume, roi: EllipseROI
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """LPS sample points inside the ellipse (n, 3), their values (NaN outside the volume),
    and the (right, up) steps in mm (module docstring)."""
    vol = volume if volume.uniform else volume.regular()
    plane = roi.plane
    du, dv = native_steps(vol, plane)
    # anchor the grid on the voxel centre nearest the ellipse's centre (projected on the plane)
    g = vol.geometry
    nearest = np.clip(np.rint(g.lps_to_index(roi.centre)), 0, np.asarray(g.dims) - 1)
    rel = g.index_to_lps(nearest) - roi.centre
    anchor_u, anchor_v = float(rel @ plane.right), float(rel @ plane.up)
    ku = np.arange(math.ceil((-roi.a - anchor_u) / du), math.floor((roi.a - anchor_u) / du) + 1)
    kv = np.arange(math.ceil((-roi.b - anchor_v) / dv), math.floor((roi.b - anchor_v) / dv) + 1)
    u = anchor_u + ku * du
    v = anchor_v + kv * dv
    uu, vv = np.meshgrid(u, v)
    inside = (uu / roi.a) ** 2 + (vv / roi.b) ** 2 <= 1.0
    pts = roi.centre + uu[inside][:, None] * plane.right + vv[inside][:, None] * plane.up
    return pts, sample_trilinear(vol, pts).astype(float), (du, dv)


def ellipse_stats(volume: Volume, roi: EllipseROI) -> ROIStats:
    """Mean, SD, min, max and area of an elliptical ROI (module docstring)."""
    _, values, (du, dv) = roi_samples(volume, roi)
    ok = values[np.isfinite(values)]
    n = int(ok.size)
    nan = float("nan")
    return ROIStats(
        mean=float(ok.mean()) if n else nan,
        sd=float(ok.std(ddof=1)) if n > 1 else (0.0 if n == 1 else nan),
        min=float(ok.min()) if n else nan,
        max=float(ok.max()) if n else nan,
        count=n,
        outside=int(values.size - n),
        area_mm2=float(values.size * du * dv),
        ellipse_area_mm2=roi.ellipse_area_mm2,
        step_mm=(du, dv),
        unit=volume.rescale_type,
    )


# ------------------------------------------------------------ 2-D images
def _stats(values: np.ndarray, outside: int, cell: float, ellipse_area: float,
           step: tuple[float, float], unit: str, area_unit: str) -> ROIStats:
    ok = values[np.isfinite(values)]
    n = int(ok.size)
    nan = float("nan")
    return ROIStats(
        mean=float(ok.mean()) if n else nan,
        sd=float(ok.std(ddof=1)) if n > 1 else (0.0 if n == 1 else nan),
        min=float(ok.min()) if n else nan,
        max=float(ok.max()) if n else nan,
        count=n, outside=outside, area_mm2=float((n + outside) * cell),
        ellipse_area_mm2=ellipse_area, step_mm=step, unit=unit, area_unit=area_unit,
    )


def image_angle_deg(
    a: tuple[float, float], vertex: tuple[float, float], b: tuple[float, float],
    spacing: tuple[float, float] | None = None, aspect: float = 1.0,
) -> float:
    """Angle (degrees) at ``vertex`` between image points given as (column, row).

    With ``spacing`` (row spacing, column spacing) in mm (the order of Pixel
    Spacing (0028,0030)) the angle is measured in mm, so non-square pixels give
    the true angle; without it rows are scaled by ``aspect`` (pixel height/width,
    Pixel Aspect Ratio (0028,0034)).
    """
    row_mm, col_mm = spacing if spacing is not None else (float(aspect), 1.0)

    def mm(p: tuple[float, float]) -> np.ndarray:
        return np.array([float(p[0]) * col_mm, float(p[1]) * row_mm, 0.0])

    return angle_deg(mm(a), mm(vertex), mm(b))


def image_ellipse_stats(
    values: np.ndarray, centre: tuple[float, float], a: float, b: float,
    spacing: tuple[float, float] | None = None, unit: str = "",
) -> ROIStats:
    """Statistics of the pixels of a 2-D frame whose centres lie in an ellipse.

    ``centre`` is (column, row) in continuous image coordinates (pixel centres at
    integers), ``a`` and ``b`` the semi-axes in pixels along the columns and the
    rows. ``values`` are modality units (rows, columns). Areas are in mm² with
    ``spacing`` (row, column mm), else in px² (``area_unit`` says which).
    """
    if not (a > 0 and b > 0):
        raise ValueError(f"ellipse semi-axes must be > 0 pixels, got {a} and {b}")
    rows, cols = values.shape[:2]
    c0, r0 = float(centre[0]), float(centre[1])
    cs = np.arange(math.ceil(c0 - a), math.floor(c0 + a) + 1)
    rs = np.arange(math.ceil(r0 - b), math.floor(r0 + b) + 1)
    cc, rr = np.meshgrid(cs, rs)
    inside = ((cc - c0) / a) ** 2 + ((rr - r0) / b) ** 2 <= 1.0
    cc, rr = cc[inside], rr[inside]
    in_image = (cc >= 0) & (cc < cols) & (rr >= 0) & (rr < rows)
    picked = values[rr[in_image], cc[in_image]].astype(float)
    row_mm, col_mm = spacing if spacing is not None else (1.0, 1.0)
    return _stats(picked, int((~in_image).sum()), row_mm * col_mm,
                  math.pi * a * b * row_mm * col_mm, (col_mm, row_mm), unit,
                  "mm²" if spacing is not None else "px²")
