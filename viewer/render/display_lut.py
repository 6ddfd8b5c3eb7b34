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


def grey_levels(inverted: bool, presentation: GreyLUT | None,
                rounded: bool = False) -> NDArray[np.float64] | None:
    """Grey level 0..1 for each table entry, or None for the identity (no table needed).

    ``rounded=False``: one entry per P-value (entry p is P-value p: the window must be
    stretched so that the entry is floor(y), as ImageView does). ``rounded=True``: for a
    window left as it is, whose output without a table is round(y) (the GPU's
    conversion to 8 bits): the table then has 2 (N - 1) entries, entry k covering
    y in [k/2, (k+1)/2), whose rounded P-value is ceil(k/2) -- the same P-value with
    and without the table.
    """
    if presentation is None:
        if not inverted:
            return None
        levels = np.linspace(0.0, 1.0, ENTRIES)
    else:
        levels = np.asarray(presentation.normalized(), dtype=np.float64)
    if inverted:
        levels = levels[::-1]
    if rounded:
        levels = levels[(np.arange(2 * (len(levels) - 1)) + 1) // 2]
    return levels.copy()


def grey_table(inverted: bool, presentation: GreyLUT | None,
               rounded: bool = False) -> vtkLookupTable | None:
    """A ``vtkLookupTable`` of :func:`grey_levels` (None: show the P-values as they are)."""
    levels = grey_levels(inverted, presentation, rounded)
    if levels is None:
        return None
    table = vtkLookupTable()
    table.SetNumberOfTableValues(len(levels))
    table.SetTableRange(0, len(levels) - 1)
    table.Build()
    for n, g in enumerate(levels):
        table.SetTableValue(n, g, g, g, 1.0)
    return table
