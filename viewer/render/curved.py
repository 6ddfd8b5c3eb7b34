"""Curved planar reformation (CPR) along a centre line the user clicks; no VTK, no Qt.

The user clicks points in patient space (LPS mm) along a vessel, the spine or
a dental arch. :func:`fit_centreline` passes a smooth curve through them (a
centripetal Catmull-Rom spline, which never overshoots or loops between close
clicks) and resamples it at equal arc-length steps. Two reformats follow:

* :func:`straightened_cpr` -- the *straightened* CPR (Kanitsar et al., IEEE
  Vis 2002): image row ``r`` is the curve sample at arc length ``r * step``
  (first click at the top), column ``c`` the point at lateral offset
  ``-width/2 + c * spacing`` along that sample's *lateral* direction. The
  lateral direction is perpendicular to the tangent: ``tangent x reference``
  (``reference`` defaults to the normal of the best-fit plane of the clicks,
  so at angle 0 the image shows the curve's own plane), then spun about the
  tangent by ``angle`` degrees (the "rotate the CPR" interaction of peer
  viewers). A vessel therefore shows as a straight vertical band.
* :func:`panoramic` -- the dental panoramic: columns follow the arch (arc
  length, first click on the left), rows go along ``up`` (head up by
  default, ``height_mm`` tall); an optional slab of ``thickness_mm`` along the
  arch's normal within the axial plane (``tangent x up``, the bucco-lingual
  direction) is averaged or maximised.

Values are trilinear samples of the voxels in modality units through the
exact inverse affine of :class:`~viewer.dicom.geometry.Geometry` (so oblique
and sheared, gantry-tilted stacks are sampled where the patient point is);
unevenly spaced stacks are first put on a regular grid
(:meth:`~viewer.dicom.volume.Volume.regular`). Points outside the voxel-centre
grid are NaN. Every output pixel keeps its LPS position
(:attr:`CurvedImage.points`): :meth:`CurvedImage.pixel_to_lps` and
:meth:`CurvedImage.lps_to_pixel` serve the cursor read-out and the
cross-reference with the other views.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viewer.dicom.volume import Volume
from viewer.render.planes import Plane

log = logging.getLogger(__name__)

SLAB_MODES = ("mean", "mip", "minip")


class CurveError(ValueError):
    """The clicked points cannot make a centre line (too few, all in one place ...)."""


# ------------------------------------------------------------------ sampling
def sample_trilinear(volume: Volume, lps: np.ndarray) -> np.ndarray:
    """Trilinear samples (modality units, float32) at LPS points of any shape ``(..., 3)``.

    Points outside the grid of voxel centres (by more than 1e-6 voxel) give NaN.
    The volume must be uniform (:meth:`Volume.regular` makes it so).
    """
    pts = np.asarray(lps, dtype=float)
    shape = pts.shape[:-1]
    idx = volume.geometry.lps_to_index(pts.reshape(-1, 3))
    snap = np.rint(idx)
    idx = np.where(np.abs(idx - snap) < 1e-6, snap, idx)  # voxel centres give voxel values
    dims = np.asarray(volume.geometry.dims)
    eps = 1e-6
    inside = np.all((idx >= -eps) & (idx <= dims - 1 + eps), axis=1)
    idx = np.clip(idx, 0, dims - 1)
    base = np.clip(np.floor(idx).astype(np.int64), 0, np.maximum(dims - 2, 0))
    frac = idx - base
    a = volume.array
    flat = a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)
    nx, ny = int(dims[0]), int(dims[1])
    step = np.where(dims > 1, 1, 0) * np.array([1, nx, nx * ny])  # index step per axis
    lin = base[:, 2] * (nx * ny) + base[:, 1] * nx + base[:, 0]
    fx, fy, fz = frac[:, 0], frac[:, 1], frac[:, 2]

    def at(di: int, dj: int, dk: int) -> np.ndarray:
        return np.take(flat, lin + di * step[0] + dj * step[1] + dk * step[2]).astype(np.float64)

    def lerp(u: np.ndarray, v: np.ndarray, f: np.ndarray) -> np.ndarray:
        return u + (v - u) * f

    c0 = lerp(lerp(at(0, 0, 0), at(1, 0, 0), fx), lerp(at(0, 1, 0), at(1, 1, 0), fx), fy)
    c1 = lerp(lerp(at(0, 0, 1), at(1, 0, 1), fx), lerp(at(0, 1, 1), at(1, 1, 1), fx), fy)
    out = lerp(c0, c1, fz)
    out[~inside] = np.nan
    return out.astype(np.float32).reshape(shape)


def _regular(volume: Volume) -> Volume:
    return volume if volume.uniform else volume.regular()


# ----------------------------------------------------------------- the curve
@dataclass(frozen=True)
class Centreline:
    """A smooth curve resampled every ``step`` mm: ``points`` and unit ``tangents`` (n, 3)."""

    points: np.ndarray
    tangents: np.ndarray
    step: float
    clicks: np.ndarray

    @property
    def length(self) -> float:
        return float(self.step * (len(self.points) - 1))

    @property
    def arc_length(self) -> np.ndarray:
        return np.arange(len(self.points)) * self.step


def _unit_rows(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _catmull_rom(points: np.ndarray, per_segment: int) -> np.ndarray:
    """Centripetal Catmull-Rom (alpha 0.5) through all points, dense polyline."""
    p = points
    # phantom end points: reflections of the second and the second-to-last
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[:1]]
    t = np.linspace(0.0, 1.0, per_segment + 1)[1:, None]
    for n in range(len(p) - 1):
        p0, p1, p2, p3 = ext[n], ext[n + 1], ext[n + 2], ext[n + 3]
        t0 = 0.0
        t1 = t0 + max(float(np.linalg.norm(p1 - p0)), 1e-9) ** 0.5
        t2 = t1 + max(float(np.linalg.norm(p2 - p1)), 1e-9) ** 0.5
        t3 = t2 + max(float(np.linalg.norm(p3 - p2)), 1e-9) ** 0.5
        u = t1 + t * (t2 - t1)
        a1 = (t1 - u) / (t1 - t0) * p0 + (u - t0) / (t1 - t0) * p1
        a2 = (t2 - u) / (t2 - t1) * p1 + (u - t1) / (t2 - t1) * p2
        a3 = (t3 - u) / (t3 - t2) * p2 + (u - t2) / (t3 - t2) * p3
        b1 = (t2 - u) / (t2 - t0) * a1 + (u - t0) / (t2 - t0) * a2
        b2 = (t3 - u) / (t3 - t1) * a2 + (u - t1) / (t3 - t1) * a3
        out.append((t2 - u) / (t2 - t1) * b1 + (u - t1) / (t2 - t1) * b2)
    return np.vstack(out)


def fit_centreline(points: np.ndarray | list, step: float = 0.5) -> Centreline:
    """A smooth curve through the clicked LPS ``points``, resampled about every ``step`` mm.

    The actual step (``Centreline.step``) is adjusted so the last sample is the
    last click: the curve length divided into a whole number of steps.

    Consecutive duplicate clicks (closer than 1e-3 mm, e.g. a double-click) are
    dropped. Two points give a straight segment.
    """
    if step <= 0:
        raise CurveError(f"curve step must be > 0 mm, got {step}")
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(p) == 0:
        raise CurveError("a curved reformat needs at least two points on the centre line")
    keep = np.concatenate([[True], np.linalg.norm(np.diff(p, axis=0), axis=1) > 1e-3])
    p = p[keep]
    if len(p) < 2:
        raise CurveError("a curved reformat needs at least two distinct points on the centre line")
    dense = _catmull_rom(p, per_segment=64)
    seg = np.linalg.norm(np.diff(dense, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(s[-1])
    n = max(2, round(total / step) + 1)
    step = total / (n - 1)  # both ends exact; within half a step per curve of the request
    targets = np.arange(n) * step
    resampled = np.column_stack([np.interp(targets, s, dense[:, d]) for d in range(3)])
    tangents = _unit_rows(np.gradient(resampled, axis=0))
    return Centreline(resampled, tangents, float(step), p)


def curve_plane_normal(points: np.ndarray) -> np.ndarray:
    """Unit normal of the best-fit plane of the clicks (least-squares; any normal for a line)."""
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    centred = p - p.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=True)
    if len(p) < 3 or sv[1] < 1e-6 * max(sv[0], 1e-12):
        # (nearly) straight: the patient axis least aligned with the line
        d = vt[0]
        axis = np.eye(3)[int(np.argmin(np.abs(d)))]
        n = axis - float(axis @ d) * d
        return n / np.linalg.norm(n)
    return vt[2]


def lateral_directions(
    centreline: Centreline, reference: np.ndarray, angle_deg: float = 0.0
) -> np.ndarray:
    """Unit lateral vector per curve sample: ``tangent x reference`` spun by ``angle`` about
    the tangent (right-handed). Where the tangent runs along ``reference`` the previous
    sample's vector, made perpendicular to the new tangent, is carried on."""
    ref = np.asarray(reference, dtype=float).reshape(3)
    ref = ref / np.linalg.norm(ref)
    t = centreline.tangents
    lat = np.cross(t, ref)
    norms = np.linalg.norm(lat, axis=1)
    good = norms > 1e-3
    if not good.any():
        raise CurveError("the reference direction runs along the whole centre line")
    lat[good] /= norms[good, None]
    first = int(np.argmax(good))
    for n in list(range(first - 1, -1, -1)) + list(range(first + 1, len(t))):
        if good[n]:
            continue
        prev = lat[n + 1] if n < first else lat[n - 1]
        v = prev - float(prev @ t[n]) * t[n]
        lat[n] = v / max(float(np.linalg.norm(v)), 1e-12)
    if angle_deg:
        a = math.radians(angle_deg)
        lat = lat * math.cos(a) + np.cross(t, lat) * math.sin(a)
    return _unit_rows(lat)


# ---------------------------------------------------------------- the image
@dataclass
class CurvedImage:
    """A reformatted image: ``values`` (rows, cols) in modality units, row 0 on top,
    NaN outside the volume; ``points`` (rows, cols, 3) the LPS position of each pixel.

    ``row_spacing`` and ``col_spacing`` are the mm between neighbouring pixel
    centres (arc length or lateral offset); ``kind`` is ``"cpr"`` or
    ``"panoramic"``; ``lateral`` (n, 3) and ``centreline`` say how it was made.
    """

    values: np.ndarray
    points: np.ndarray
    row_spacing: float
    col_spacing: float
    kind: str
    centreline: Centreline
    lateral: np.ndarray
    angle_deg: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    def pixel_to_lps(self, row: float, col: float) -> np.ndarray:
        """LPS point of a (fractional) pixel position: bilinear between pixel centres."""
        rows, cols = self.shape
        r0, c0, fr, fc = self._cell(row, col)
        r1, c1 = min(r0 + 1, rows - 1), min(c0 + 1, cols - 1)
        p = self.points
        top = p[r0, c0] * (1 - fc) + p[r0, c1] * fc
        bottom = p[r1, c0] * (1 - fc) + p[r1, c1] * fc
        return top * (1 - fr) + bottom * fr

    def _cell(self, row: float, col: float) -> tuple[int, int, float, float]:
        rows, cols = self.shape
        r = min(max(float(row), 0.0), rows - 1.0)
        c = min(max(float(col), 0.0), cols - 1.0)
        r0, c0 = min(int(r), max(rows - 2, 0)), min(int(c), max(cols - 2, 0))
        return r0, c0, r - r0, c - c0

    def _jacobian(self, row: float, col: float) -> np.ndarray:
        """d(LPS)/d(row, col) of the bilinear map at a pixel position (3x2)."""
        rows, cols = self.shape
        r0, c0, fr, fc = self._cell(row, col)
        r1, c1 = min(r0 + 1, rows - 1), min(c0 + 1, cols - 1)
        p = self.points
        d_col = (p[r0, c1] - p[r0, c0]) * (1 - fr) + (p[r1, c1] - p[r1, c0]) * fr
        d_row = (p[r1, c0] - p[r0, c0]) * (1 - fc) + (p[r1, c1] - p[r0, c1]) * fc
        return np.column_stack([d_row, d_col])

    def lps_to_pixel(
        self, lps: np.ndarray | tuple[float, float, float]
    ) -> tuple[float, float, float]:
        """(row, col, distance mm) of the image point nearest an LPS point.

        Starts at the nearest pixel centre and refines by Gauss-Newton on the
        bilinear map of :meth:`pixel_to_lps`; ``distance`` is how far the LPS
        point lies off the reformatted surface (0 for points on it).
        """
        q = np.asarray(lps, dtype=float).reshape(3)
        d2 = np.sum((self.points - q) ** 2, axis=2)
        r0, c0 = np.unravel_index(int(np.argmin(d2)), d2.shape)
        rows, cols = self.shape
        row, col = float(r0), float(c0)
        for _ in range(8):
            delta, *_ = np.linalg.lstsq(
                self._jacobian(row, col), q - self.pixel_to_lps(row, col), rcond=None
            )
            delta = np.clip(delta, -1.0, 1.0)
            row = float(np.clip(row + delta[0], 0, rows - 1))
            col = float(np.clip(col + delta[1], 0, cols - 1))
            if np.abs(delta).max() < 1e-9:
                break
        dist = float(np.linalg.norm(self.pixel_to_lps(row, col) - q))
        return row, col, dist

    def value_at(self, row: float, col: float) -> float | None:
        """Nearest pixel's value (cursor read-out); None outside the image or the volume."""
        r, c = round(float(row)), round(float(col))
        rows, cols = self.shape
        if not (0 <= r < rows and 0 <= c < cols):
            return None
        v = float(self.values[r, c])
        return None if math.isnan(v) else v

    def cross_section(self, sample: int) -> Plane:
        """The plane perpendicular to the centre line at curve sample ``sample``:
        screen right = the lateral direction, normal = the tangent (cross-sectional view)."""
        n = int(np.clip(sample, 0, len(self.centreline.points) - 1))
        t = self.centreline.tangents[n]
        right = self.lateral[n]
        up = np.cross(t, right)
        return Plane(self.centreline.points[n], right, up, "cross-section")


def _slab(values: np.ndarray, mode: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if mode == "mean":
                return np.nanmean(values, axis=0)
            if mode == "mip":
                return np.nanmax(values, axis=0)
            return np.nanmin(values, axis=0)


def _check_slab(thickness_mm: float, mode: str) -> None:
    if mode not in SLAB_MODES:
        raise ValueError(f"unknown slab mode {mode!r}: expected {', '.join(SLAB_MODES)}")
    if thickness_mm < 0:
        raise ValueError("slab thickness must be >= 0")


def _offsets(extent_mm: float, spacing: float) -> np.ndarray:
    half = max(0, math.floor(extent_mm / 2 / spacing + 1e-9))
    return np.arange(-half, half + 1) * spacing


def _default_spacing(volume: Volume) -> float:
    return float(min(volume.geometry.spacing))


def straightened_cpr(
    volume: Volume,
    points: np.ndarray | list,
    width_mm: float = 40.0,
    angle_deg: float = 0.0,
    reference: np.ndarray | tuple[float, float, float] | None = None,
    spacing: float | None = None,
    thickness_mm: float = 0.0,
    slab_mode: str = "mean",
) -> CurvedImage:
    """Straightened CPR of ``volume`` along the clicked ``points`` (module docstring).

    ``spacing`` (mm, default the smallest voxel spacing) is both the arc-length
    step between rows and the lateral step between columns; ``width_mm`` the
    lateral extent (centred on the curve). ``thickness_mm`` > 0 adds a slab
    along ``tangent x lateral`` combined with ``slab_mode``.
    """
    _check_slab(thickness_mm, slab_mode)
    if width_mm <= 0:
        raise ValueError("CPR width must be > 0 mm")
    vol = _regular(volume)
    s = float(spacing or _default_spacing(vol))
    line = fit_centreline(points, s)
    ref = curve_plane_normal(line.clicks) if reference is None else np.asarray(reference, float)
    lat = lateral_directions(line, ref, angle_deg)
    offs = _offsets(width_mm, s)
    grid = line.points[:, None, :] + offs[None, :, None] * lat[:, None, :]
    if thickness_mm > 0:
        depth = np.cross(line.tangents, lat)
        d_offs = _offsets(thickness_mm, s) if thickness_mm >= 2 * s else np.array([0.0])
        stack = [sample_trilinear(vol, grid + d * depth[:, None, :]) for d in d_offs]
        values = _slab(np.stack(stack), slab_mode)
    else:
        values = sample_trilinear(vol, grid)
    return CurvedImage(values.astype(np.float32), grid, s, s, "cpr", line, lat, angle_deg)


def panoramic(
    volume: Volume,
    points: np.ndarray | list,
    height_mm: float = 40.0,
    thickness_mm: float = 0.0,
    slab_mode: str = "mean",
    up: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 1.0),
    spacing: float | None = None,
) -> CurvedImage:
    """Dental panoramic along an arch clicked on an axial slice (module docstring).

    Rows: ``up`` offsets from ``+height/2`` (top) to ``-height/2``; columns: arc
    length. The slab (``thickness_mm``) runs along each sample's lateral
    direction ``tangent x up`` (the arch normal in the axial plane).
    """
    _check_slab(thickness_mm, slab_mode)
    if height_mm <= 0:
        raise ValueError("panoramic height must be > 0 mm")
    vol = _regular(volume)
    s = float(spacing or _default_spacing(vol))
    line = fit_centreline(points, s)
    u = np.asarray(up, dtype=float).reshape(3)
    u = u / np.linalg.norm(u)
    lat = lateral_directions(line, u)
    heights = _offsets(height_mm, s)[::-1]
    grid = line.points[None, :, :] + heights[:, None, None] * u[None, None, :]
    if thickness_mm > 0:
        d_offs = _offsets(thickness_mm, s) if thickness_mm >= 2 * s else np.array([0.0])
        stack = [sample_trilinear(vol, grid + d * lat[None, :, :]) for d in d_offs]
        values = _slab(np.stack(stack), slab_mode)
    else:
        values = sample_trilinear(vol, grid)
    return CurvedImage(values.astype(np.float32), grid, s, s, "panoramic", line, lat, 0.0)


# ------------------------------------------------------------------- output
def to_grey(image: CurvedImage, window: tuple[float, float], invert: bool = False) -> np.ndarray:
    """uint8 grey of ``image`` through the PS3.3 C.11.2.1.2 linear VOI ``(width, level)``;
    pixels outside the volume are black."""
    from viewer.render.windowing import voi_linear

    width, level = window
    vals = np.nan_to_num(image.values, nan=-np.inf)
    grey = voi_linear(vals, level, width)
    if invert:
        grey = 255.0 - grey
    grey = np.where(np.isnan(image.values), 0.0, grey)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def render_cpr_png(
    volume: Volume,
    points: np.ndarray | list,
    out: str | Path,
    window: tuple[float, float] | None = None,
    width_mm: float = 40.0,
    angle_deg: float = 0.0,
    mode: str = "cpr",
    **kwargs: Any,
) -> dict[str, Any]:
    """Write the straightened CPR (``mode="cpr"``) or the panoramic of ``volume`` along
    ``points`` to the PNG ``out``, one image pixel per PNG pixel; returns a description.

    ``window`` is (width, level), default the series' or modality's
    (:func:`viewer.render.windowing.default_window`). For the panoramic,
    ``width_mm`` is its height. MONOCHROME1 is shown inverted (PS3.3 C.7.6.3.1.2).
    """
    from PIL import Image

    from viewer.render.windowing import default_window

    if mode == "cpr":
        image = straightened_cpr(volume, points, width_mm=width_mm, angle_deg=angle_deg, **kwargs)
    elif mode == "panoramic":
        image = panoramic(volume, points, height_mm=width_mm, **kwargs)
    else:
        raise ValueError(f"unknown curved mode {mode!r}: expected cpr or panoramic")
    if window is None:
        centre, width = default_window(volume)
        window = (width, centre)
    grey = to_grey(image, window, invert=volume.photometric.upper() == "MONOCHROME1")
    path = Path(out)
    Image.fromarray(grey).save(path)
    return {
        "output": str(path),
        "size": [image.shape[1], image.shape[0]],
        "mode": mode,
        "length_mm": image.centreline.length,
        "mm_per_pixel": [image.col_spacing, image.row_spacing],
        "window": {"width": float(window[0]), "level": float(window[1])},
        "angle_deg": float(angle_deg),
        "lossy": bool(volume.lossy),
    }
