"""A series as a 3-D volume for MPR: numpy voxels plus exact patient geometry.

This module holds the :class:`Volume` type that rendering, probing and the UI
share. Assembly from a series (sorting by position along the slice normal,
gantry tilt, spacing checks, multi-frame functional groups) lives in
:mod:`viewer.dicom.assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    For such stacks the affine's k axis runs from the first to the last slice
    with their mean spacing (both end slices exact); :meth:`regular` gives a
    resampled copy whose slices all sit on the affine grid.
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
    # Frame of Reference UID (PS3.3 C.7.4.1.1.1): volumes with the same one share patient
    # coordinates (cross-reference lines, synchronised scrolling); "" when unknown
    frame_of_reference_uid: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # study/series descriptors, never logged
    # Filled by viewer.dicom.assemble (additive fields):
    split_reason: str = ""  # why this volume is separate from others of its series
    tilt_degrees: float = 0.0  # angle between the stack direction and the slice normal
    gaps_along_normal: np.ndarray | None = None  # mm between consecutive slices along the normal
    source_files: list[str] = field(default_factory=list)  # file of each slice k
    source_frames: list[int] = field(default_factory=list)  # frame index in that file

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

    def value_at(
        self, lps: np.ndarray | tuple[float, float, float]
    ) -> tuple[float | None, tuple[int, int, int]]:
        """Voxel value (modality units) at a patient point, as the cursor read-out shows it.

        Nearest neighbour using the exact slice positions: the slice whose
        plane is nearest along the normal, then the nearest pixel of that
        plane (the point projected along the normal). Points more than half a
        gap outside the stack or outside the image give ``(None, (i, j, k))``.
        """
        p = np.asarray(lps, dtype=float).reshape(3)
        g = self.geometry
        row, col = g.direction[:, 0], g.direction[:, 1]
        normal = g.normal
        positions = self.slice_positions
        if positions is None or len(positions) != self.array.shape[0]:
            positions = g.index_to_lps(
                np.stack(
                    [
                        np.zeros(self.array.shape[0]),
                        np.zeros(self.array.shape[0]),
                        np.arange(self.array.shape[0], dtype=float),
                    ],
                    axis=1,
                )
            ).reshape(-1, 3)
        d = positions @ normal
        k = int(np.argmin(np.abs(d - float(p @ normal))))
        rel = p - positions[k]
        i = int(np.floor(float(rel @ row) / g.spacing[0] + 0.5))
        j = int(np.floor(float(rel @ col) / g.spacing[1] + 0.5))
        along = float(p @ normal)
        if len(d) > 1:
            end_gap = abs(d[1] - d[0]) if k == 0 else abs(d[-1] - d[-2])
            beyond = (along - d[k]) * (1.0 if d[-1] >= d[0] else -1.0)
            outside = (k == len(d) - 1 and beyond > 0.5 * end_gap) or (
                k == 0 and -beyond > 0.5 * end_gap
            )
        else:
            outside = abs(along - d[0]) > 0.5 * g.spacing[2]
        cols, rows = self.array.shape[2], self.array.shape[1]
        if outside or not (0 <= i < cols and 0 <= j < rows):
            return None, (i, j, k)
        return float(self.array[k, j, i]), (i, j, k)

    def regular(self, spacing: float | None = None) -> Volume:
        """This volume on a uniform k grid (itself when already uniform).

        Choice: the new k spacing is the median distance between consecutive
        slices (or ``spacing``), adjusted so the first and last slices keep
        their exact place; each new slice is the linear interpolation, along
        the stack line, of the two acquired slices around it. The direction
        (including a gantry-tilt shear) is kept. Integer volumes are rounded
        back to their dtype. The result's ``slice_positions`` are the new
        regular positions and its warnings say it was resampled.
        """
        if self.uniform:
            return self
        pos = np.asarray(self.slice_positions, dtype=float)
        span = pos[-1] - pos[0]
        length = float(np.linalg.norm(span))
        k_dir = span / length
        s = (pos - pos[0]) @ k_dir  # distance of each slice along the stack line
        step = spacing or float(np.median(np.diff(s)))
        n = max(2, round(length / step) + 1)
        step = length / (n - 1)
        targets = np.arange(n) * step
        upper = np.clip(np.searchsorted(s, targets, side="right"), 1, len(s) - 1)
        lower = upper - 1
        w = np.clip((targets - s[lower]) / np.maximum(s[upper] - s[lower], 1e-9), 0.0, 1.0)
        out = np.empty((n, *self.array.shape[1:]), dtype=self.array.dtype)
        for m in range(n):
            a = self.array[lower[m]].astype(np.float32)
            b = self.array[upper[m]].astype(np.float32)
            v = a + (b - a) * np.float32(w[m])
            if out.dtype.kind in "iu":
                v = np.rint(v)
            out[m] = v
        g = self.geometry
        geometry = Geometry(
            dims=(g.dims[0], g.dims[1], n),
            spacing=(g.spacing[0], g.spacing[1], step),
            origin=pos[0],
            direction=np.stack([g.direction[:, 0], g.direction[:, 1], k_dir], axis=1),
        )
        new_positions = pos[0] + np.outer(targets, k_dir)
        warnings = [*self.warnings, f"resampled to a regular {step:.3f} mm slice grid"]
        return replace(
            self,
            array=out,
            geometry=geometry,
            slice_positions=new_positions,
            warnings=warnings,
            gaps_along_normal=np.diff(new_positions @ g.normal),
            source_files=[],
            source_frames=[],
        )
