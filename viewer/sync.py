"""Synchronised scrolling of two series; Qt-free.

Two modes (IHE Basic Image Review: side-by-side comparison with synchronised
scroll):

* **same frame of reference** (equal, non-empty Frame of Reference UID,
  PS3.3 C.7.4.1.1.1): patient coordinates of both series are the same space,
  so the other series shows the slice nearest the *same LPS point*, measured
  along that series' slice normal (whatever the orientations, slice
  thicknesses or stored order);
* **offset** (a prior, or different frames of reference): patient coordinates
  are unrelated, so positions along the slice normals are matched through an
  anchor pair the user sets (this slice of A shows the same anatomy as that
  slice of B): ``s_b = s_a + offset``. Until the user sets one, the stacks'
  centres are paired (:attr:`ScrollSync.anchored` says which). Each stack's
  position ``s`` is its slices' LPS position along its own normal, the
  normal's sign made to agree with the other's so feet-first and head-first
  stacks scroll the same way.

A slice is "nearest" by the exact slice positions (``Volume.slice_positions``
when present, so non-uniform stacks are handled); a point further than half a
slice gap outside the stack maps to no slice (``SyncTarget.inside`` False).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from viewer.dicom.volume import Volume

log = logging.getLogger(__name__)

def frame_of_reference(volume: Volume) -> str:
    """The volume's Frame of Reference UID (``Volume.frame_of_reference_uid``), ``""`` when
    unknown."""
    return volume.frame_of_reference_uid


@dataclass(frozen=True)
class Stack:
    """Slice positions (k, 3) LPS and the unit slice normal of a volume."""

    positions: np.ndarray
    normal: np.ndarray
    half_thickness: float = 0.5  # mm; only used for a single slice

    @classmethod
    def from_volume(cls, volume: Volume) -> Stack:
        g = volume.geometry
        pos = volume.slice_positions
        if pos is None or len(pos) != volume.array.shape[0]:
            k = np.arange(volume.array.shape[0], dtype=float)
            pos = g.index_to_lps(np.column_stack([0 * k, 0 * k, k])).reshape(-1, 3)
        return cls(
            np.asarray(pos, dtype=float).reshape(-1, 3), g.normal.copy(), g.spacing[2] / 2
        )

    def along(self, lps: np.ndarray, normal: np.ndarray | None = None) -> float:
        """Position (mm) of an LPS point along ``normal`` (default this stack's)."""
        n = self.normal if normal is None else normal
        return float(np.asarray(lps, dtype=float).reshape(3) @ n)

    def slice_s(self, normal: np.ndarray | None = None) -> np.ndarray:
        n = self.normal if normal is None else normal
        return self.positions @ n

    def nearest(self, s: float, normal: np.ndarray | None = None) -> tuple[int, float, bool]:
        """(k, |gap| mm, inside) of the slice nearest position ``s`` along ``normal``;
        ``inside`` is False beyond half the end gap (half a spacing for one slice)."""
        d = self.slice_s(normal)
        k = int(np.argmin(np.abs(d - s)))
        gap = abs(float(d[k]) - s)
        order = np.sort(d)
        if len(d) > 1:
            lo = order[0] - 0.5 * (order[1] - order[0])
            hi = order[-1] + 0.5 * (order[-1] - order[-2])
        else:
            lo, hi = order[0] - self.half_thickness, order[0] + self.half_thickness
        return k, gap, bool(lo - 1e-6 <= s <= hi + 1e-6)


@dataclass(frozen=True)
class SyncTarget:
    """Where the other series should go: slice ``k`` at LPS ``position``; ``distance`` (mm
    along its normal) from the mapped point; ``inside`` False when beyond the stack."""

    k: int
    position: np.ndarray
    distance: float
    inside: bool


class ScrollSync:
    """Keeps series B on the slice matching series A's (and back); module docstring.

    ``for_a`` / ``for_b`` override the volumes' Frame of Reference UIDs
    (``Volume.frame_of_reference_uid``); ``mode`` forces ``"frame"`` or ``"offset"``.
    """

    def __init__(
        self,
        a: Volume,
        b: Volume,
        for_a: str | None = None,
        for_b: str | None = None,
        mode: str | None = None,
    ) -> None:
        self.a, self.b = Stack.from_volume(a), Stack.from_volume(b)
        uid_a = frame_of_reference(a) if for_a is None else for_a
        uid_b = frame_of_reference(b) if for_b is None else for_b
        same = bool(uid_a) and uid_a == uid_b
        if mode is None:
            mode = "frame" if same else "offset"
        if mode not in ("frame", "offset"):
            raise ValueError(f"unknown sync mode {mode!r}: expected frame or offset")
        self.mode = mode
        # offset mode: B's normal with its sign agreeing with A's
        self._nb = self.b.normal if float(self.b.normal @ self.a.normal) >= 0 else -self.b.normal
        sa, sb = self.a.slice_s(), self.b.slice_s(self._nb)
        self.offset = float((sb.min() + sb.max()) / 2 - (sa.min() + sa.max()) / 2)
        self.anchored = False
        log.debug("scroll sync in %s mode", mode)

    def set_anchor(self, point_a: np.ndarray, point_b: np.ndarray) -> None:
        """The user says ``point_a`` in A and ``point_b`` in B show the same anatomy
        (e.g. the slices currently shown); switches to offset mode."""
        self.mode = "offset"
        self.offset = self.b.along(point_b, self._nb) - self.a.along(point_a)
        self.anchored = True

    def set_anchor_slices(self, k_a: int, k_b: int) -> None:
        self.set_anchor(self.a.positions[k_a], self.b.positions[k_b])

    def a_to_b(self, point_a: np.ndarray | tuple[float, float, float]) -> SyncTarget:
        """Slice of B matching the LPS point ``point_a`` shown in A."""
        p = np.asarray(point_a, dtype=float).reshape(3)
        if self.mode == "frame":
            k, gap, inside = self.b.nearest(self.b.along(p))
            return SyncTarget(k, self._moved(self.b, p, k), gap, inside)
        s = self.a.along(p) + self.offset
        k, gap, inside = self.b.nearest(s, self._nb)
        return SyncTarget(k, self.b.positions[k].copy(), gap, inside)

    def b_to_a(self, point_b: np.ndarray | tuple[float, float, float]) -> SyncTarget:
        """Slice of A matching the LPS point ``point_b`` shown in B."""
        p = np.asarray(point_b, dtype=float).reshape(3)
        if self.mode == "frame":
            k, gap, inside = self.a.nearest(self.a.along(p))
            return SyncTarget(k, self._moved(self.a, p, k), gap, inside)
        s = self.b.along(p, self._nb) - self.offset
        k, gap, inside = self.a.nearest(s)
        return SyncTarget(k, self.a.positions[k].copy(), gap, inside)

    def slice_a_to_b(self, k_a: int) -> SyncTarget:
        return self.a_to_b(self.a.positions[int(k_a)])

    def slice_b_to_a(self, k_b: int) -> SyncTarget:
        return self.b_to_a(self.b.positions[int(k_b)])

    @staticmethod
    def _moved(stack: Stack, p: np.ndarray, k: int) -> np.ndarray:
        """``p`` moved along the stack's normal onto slice ``k`` (keeps the in-plane place)."""
        n = stack.normal
        return p + float((stack.positions[k] - p) @ n) * n
