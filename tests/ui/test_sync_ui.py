"""Synchronised scrolling in the grid for two series of one frame of reference (Xvfb).

Oracle: slice positions written out from each stack's origin and spacing;
the other series must show its acquired slice nearest the leader's patient
position (PS3.3 C.7.4.1.1.1: one frame of reference, one patient space).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume

pytestmark = pytest.mark.gui


def wheel(widget, steps: int) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _stack(dz: float, n: int, z0: float, for_uid: str) -> Volume:
    g = Geometry((32, 32, n), (1.0, 1.0, dz), np.array([-16.0, -16.0, z0]), np.eye(3))
    return Volume(np.full((n, 32, 32), 40, np.int16), g, modality="CT",
                  frame_of_reference_uid=for_uid)


def test_same_frame_of_reference_follows_to_the_nearest_slice_of_the_same_position(
        grid) -> None:
    grid.set_layout("1x2")
    a, b = grid.viewports
    a.set_volume(_stack(1.0, 60, -30.0, "1.2.3"))  # z = -30 .. 29
    b.set_volume(_stack(2.5, 20, -22.0, "1.2.3"))  # z = -22, -19.5 .. 25.5
    z_b = -22.0 + 2.5 * np.arange(20)
    b.model.scroll(5)  # somewhere else before linking
    grid.set_active(a)
    grid.set_sync(True)
    for steps in (0, -3, -4, 7, -1):
        if steps:
            wheel(a, steps)
        z = a.model.point[2]
        expected = z_b[np.argmin(np.abs(z_b - z))]
        assert b.model.point[2] == pytest.approx(expected), (z, b.model.point[2])
        assert abs(b.model.point[2] - z) <= 1.25 + 1e-6
