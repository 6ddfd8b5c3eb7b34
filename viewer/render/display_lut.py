"""The grey table after window/level: inversion (MONOCHROME1) then the screen's GSDF LUT.

Window/level produces P-values spread over the table's entries (a
``vtkImageProperty`` with ``UseLookupTableScalarRangeOff``); this table holds,
for each P-value, the grey level the screen is driven with: the P-value itself
(reversed when inverted), mapped through the screen's presentation LUT
(:class:`viewer.display.calibration.PresentationLUT`: P-value -> driving level,
PS3.14) when software GSDF calibration is on for that screen.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from vtkmodules.vtkCommonCore import vtkLookupTable

ENTRIES = 256


class GreyLUT(Protocol):
    """What the render layer needs of a presentation LUT (viewer.display.calibration)."""

    @property
    def entries(self) -> int: ...

    def normalized(self) -> NDArray[np.float64]: ...


def grey_levels(inverted: bool, presentation: GreyLUT | None) -> NDArray[np.float64] | None:
    """Grey level 0..1 for each P-value, or None for the identity (no table needed)."""
    if presentation is None:
        if not inverted:
            return None
        return np.linspace(1.0, 0.0, ENTRIES)
    levels = np.asarray(presentation.normalized(), dtype=np.float64)
    return levels[::-1].copy() if inverted else levels


def grey_table(inverted: bool, presentation: GreyLUT | None) -> vtkLookupTable | None:
    """A ``vtkLookupTable`` of :func:`grey_levels` (None: show the P-values as they are)."""
    levels = grey_levels(inverted, presentation)
    if levels is None:
        return None
    table = vtkLookupTable()
    table.SetNumberOfTableValues(len(levels))
    table.SetTableRange(0, len(levels) - 1)
    table.Build()
    for n, g in enumerate(levels):
        table.SetTableValue(n, g, g, g, 1.0)
    return table
