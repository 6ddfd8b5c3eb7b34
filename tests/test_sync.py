"""Synchronised scrolling: the other series lands on the slice at the same patient position.

Oracles: slice positions written out by hand from each stack's origin,
spacing and direction (head-first and feet-first, 2 / 2.5 / 5 mm,
uneven), and brute-force nearest-position search.
"""

from __future__ import annotations

import numpy as np
import pytest

from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.sync import ScrollSync, frame_of_reference

AXIAL = np.eye(3)
FEET_FIRST = np.diag([1.0, 1.0, -1.0])  # stored from head to feet
SAGITTAL = np.column_stack([(0, 1, 0), (0, 0, -1), (1, 0, 0)])


def stack(direction: np.ndarray, dz: float, n: int, origin: tuple, uid: str = "1.2.3",
          positions: np.ndarray | None = None) -> Volume:
    geometry = Geometry((4, 4, n), (1.0, 1.0, dz), np.asarray(origin, float), direction)
    return Volume(np.zeros((n, 4, 4), np.int16), geometry, slice_positions=positions,
                  frame_of_reference_uid=uid)


def test_same_frame_maps_to_the_slice_nearest_the_same_point() -> None:
    a = stack(AXIAL, 2.0, 40, (0, 0, -30.0))  # z = -30 .. 48
    b = stack(FEET_FIRST, 5.0, 12, (0, 0, 40.0))  # z = 40 down to -15
    sync = ScrollSync(a, b)
    assert sync.mode == "frame"
    z_b = 40.0 - 5.0 * np.arange(12)
    for k_a in range(40):
        z = -30.0 + 2.0 * k_a
        target = sync.slice_a_to_b(k_a)
        expected = int(np.argmin(np.abs(z_b - z)))
        assert target.k == expected
        assert target.distance == pytest.approx(abs(z_b[expected] - z))
        assert target.inside == (-17.5 <= z <= 42.5)
        assert target.position[2] == pytest.approx(z_b[expected])


def test_same_frame_across_orientations_uses_the_other_series_normal() -> None:
    a = stack(AXIAL, 2.0, 20, (-10.0, -10.0, 0.0))
    b = stack(SAGITTAL, 3.0, 15, (-20.0, 0.0, 0.0))  # sagittal slices at x = -20, -17, ...
    sync = ScrollSync(a, b)
    target = sync.a_to_b((4.2, 1.0, 6.0))
    assert target.k == 8  # x = 4
    np.testing.assert_allclose(target.position, (4.0, 1.0, 6.0))
    back = sync.b_to_a(target.position)
    assert back.k == 3  # z = 6


def test_uneven_slices_use_their_true_positions() -> None:
    z = np.array([0.0, 2.0, 4.0, 10.0, 12.0])  # a missing stretch; ties go to the lower slice
    positions = np.column_stack([0 * z, 0 * z, z])
    b = stack(AXIAL, 3.0, 5, (0, 0, 0.0), positions=positions)
    a = stack(AXIAL, 1.0, 13, (0, 0, 0.0))
    sync = ScrollSync(a, b)
    assert [sync.slice_a_to_b(k).k for k in range(13)] == [0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4]


def test_prior_syncs_by_the_offset_of_a_user_anchor() -> None:
    current = stack(AXIAL, 2.0, 30, (0, 0, 100.0), uid="1.2.3")  # z 100 .. 158
    prior = stack(FEET_FIRST, 2.5, 30, (0, 0, 500.0), uid="9.8.7")  # z 500 down to 427.5
    sync = ScrollSync(current, prior)
    assert sync.mode == "offset" and not sync.anchored
    sync.set_anchor_slices(10, 20)  # z 120 in the current == z 450 in the prior
    assert sync.anchored
    # 10 mm towards the head in the current -> 10 mm towards the head in the prior (z 460)
    target = sync.slice_a_to_b(15)
    assert target.k == 16 and target.distance == pytest.approx(0.0)
    assert sync.slice_a_to_b(14).position[2] == pytest.approx(457.5)  # 458 -> nearest 457.5
    assert sync.slice_b_to_a(16).k == 15
    assert sync.slice_a_to_b(29).k == 5 and sync.slice_a_to_b(29).inside  # 488 -> 487.5
    beyond = sync.a_to_b((0.0, 0.0, 95.0))  # 425: more than half a gap below 427.5
    assert beyond.k == 29 and not beyond.inside


def test_unanchored_prior_pairs_the_stack_centres() -> None:
    current = stack(AXIAL, 2.0, 21, (0, 0, 0.0), uid="1")  # centre z 20
    prior = stack(AXIAL, 4.0, 11, (0, 0, 300.0), uid="2")  # centre z 320
    sync = ScrollSync(current, prior)
    assert sync.slice_a_to_b(10).k == 5
    assert sync.slice_a_to_b(0).k == 0 and sync.slice_a_to_b(20).k == 10


def test_frame_of_reference_and_modes() -> None:
    a = stack(AXIAL, 2.0, 5, (0, 0, 0.0), uid="")
    assert frame_of_reference(a) == ""
    assert ScrollSync(a, a).mode == "offset"  # unknown frames are never trusted
    assert ScrollSync(a, a, for_a="1", for_b="1").mode == "frame"
    with pytest.raises(ValueError, match="sync mode"):
        ScrollSync(a, a, mode="magic")
