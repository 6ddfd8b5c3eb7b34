"""Window/level: the PS3.3 C.11.2.1.2 linear VOI function and default windows."""

from __future__ import annotations

import numpy as np

from viewer.dicom.volume import Volume

# (centre, width) used when a series carries no window (PS3.3 C.11.2.1.2 semantics).
MODALITY_DEFAULT_WINDOWS: dict[str, tuple[float, float]] = {
    "CT": (40.0, 400.0),  # soft tissue / mediastinum-like default (STANDARDS.md presets)
}


def voi_linear(
    x: np.ndarray, center: float, width: float, ymin: float = 0.0, ymax: float = 255.0
) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 linear VOI: the "LINEAR" function with its 0.5 and 1 offsets.

    ``x <= c - 0.5 - (w-1)/2 -> ymin``; ``x > c - 0.5 + (w-1)/2 -> ymax``;
    else ``((x - (c - 0.5)) / (w - 1) + 0.5) * (ymax - ymin) + ymin``.
    Returns floats (callers decide floor or rounding).
    """
    if width < 1:
        raise ValueError(f"window width must be >= 1 (PS3.3 C.11.2.1.2), got {width}")
    x = np.asarray(x, dtype=float)
    lo = center - 0.5 - (width - 1) / 2
    hi = center - 0.5 + (width - 1) / 2
    if width == 1:
        return np.where(x <= lo, ymin, ymax).astype(float)
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * (ymax - ymin) + ymin
    return np.where(x <= lo, ymin, np.where(x > hi, ymax, y))


def vtk_window_level(center: float, width: float) -> tuple[float, float]:
    """VTK (ColorWindow, ColorLevel) giving the same straight line as PS3.3's linear VOI.

    VTK maps ``level - window/2 .. level + window/2`` onto black..white; the
    DICOM line runs from ``c - 0.5 - (w-1)/2`` to ``c - 0.5 + (w-1)/2``, so
    ``window = w - 1`` and ``level = c - 0.5``.
    """
    return max(float(width) - 1.0, 1e-3), float(center) - 0.5


def default_window(volume: Volume) -> tuple[float, float]:
    """(centre, width): the series' header window, else a modality default, else the data.

    The data fallback spans the 0.5-99.5 percentiles of a subsample, so a few
    hot voxels do not flatten the image.
    """
    if volume.window is not None:
        c, w = volume.window
        if w is not None and float(w) >= 1:
            return float(c), float(w)
    if volume.modality.upper() in MODALITY_DEFAULT_WINDOWS:
        return MODALITY_DEFAULT_WINDOWS[volume.modality.upper()]
    a = volume.array
    step = max(1, a.size // 2_000_000)
    sample = a.reshape(-1)[::step]
    if sample.size == 0:
        return 0.5, 1.0
    lo, hi = (float(v) for v in np.percentile(sample, [0.5, 99.5]))
    if hi - lo < 1:
        lo, hi = float(sample.min()), float(sample.max())
    width = max(hi - lo, 1.0)
    return lo + width / 2, width
