"""A series as a 3-D volume for MPR: numpy voxels plus exact patient geometry.

This module holds the :class:`Volume` type that rendering, probing and the UI
share. Assembly from a series (sorting by position along the slice normal,
gantry tilt, spacing checks, multi-frame functional groups) lives in
:mod:`viewer.dicom.assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.dicom.geometry import Geometry


@dataclass
class Volume:
    """Voxels in modality units (after rescale) with their geometry.

    ``array`` has shape ``(slices, rows, columns)`` (``array[k, j, i]``).
    ``slice_positions`` holds, for each k, the LPS Image Position (Patient)
    of that slice as acquired: with non-uniform spacing or a missing slice the
    slices are *not* where the affine's regular k axis says, and readers that
    need exact placement (probe, cursor read-out, resampling) use these.
    """

    array: np.ndarray
    geometry: Geometry
    series_uid: str = ""
    modality: str = ""
    slice_positions: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)
    window: tuple[float, float] | None = None  # (centre, width) from the header
    lossy: bool = False
    rescale_type: str = ""  # e.g. "HU" when known
    photometric: str = "MONOCHROME2"
    meta: dict[str, str] = field(default_factory=dict)  # study/series descriptors, never logged

    @property
    def dims(self) -> tuple[int, int, int]:
        return self.geometry.dims

    @property
    def uniform(self) -> bool:
        """True when every slice sits where the affine puts it."""
        if self.slice_positions is None or len(self.slice_positions) < 2:
            return True
        k = np.arange(len(self.slice_positions), dtype=float)
        expected = self.geometry.index_to_lps(np.stack([0 * k, 0 * k, k], axis=1))
        tol = 0.01 * max(self.geometry.spacing[2], 1e-6)
        return bool(np.all(np.linalg.norm(expected - self.slice_positions, axis=1) <= tol))
