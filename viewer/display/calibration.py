"""Software calibration to the DICOM GSDF: a presentation LUT from a measured curve.

A screen that is not hardware-calibrated is driven to the GSDF in software
(PS3.14 section 6 and Annex C): measure its characteristic curve (luminance at
several digital driving levels, DDLs), add the ambient luminance, take the JND
range ``[j(Lmin + Lamb), j(Lmax + Lamb)]``, spread the P-values evenly over that
JND range, and map each P-value to the DDL whose luminance is closest to the
GSDF luminance of its JND index. This is what DCMTK's ``dcmdspfn`` does, used
as the oracle in the tests.

Applying it (render layer): the image pipeline produces P-values (after the
modality and VOI LUTs, 0..N-1); the presentation LUT turns them into driving
levels. :func:`vtk_lookup_table` builds a ``vtkLookupTable`` for it, see its
docstring.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viewer.display import gsdf

log = logging.getLogger(__name__)


class CalibrationError(ValueError):
    """A characteristic curve cannot be used; the message says why (and names the file)."""


@dataclass(frozen=True)
class CharacteristicCurve:
    """A screen's measured luminance (cd/m2, without ambient) at some driving levels.

    ``max_ddl`` is the highest driving level of the screen's input (255 for
    8-bit, 1023 for 10-bit). Luminances between measured levels are
    interpolated linearly in log(L), which keeps the curve monotonic.
    """

    ddl: NDArray[np.float64]
    luminance: NDArray[np.float64]
    ambient: float = 0.0
    max_ddl: int = 255
    source: str = ""

    def __post_init__(self) -> None:
        ddl = np.asarray(self.ddl, dtype=np.float64)
        lum = np.asarray(self.luminance, dtype=np.float64)
        where = f"{self.source}: " if self.source else ""
        if ddl.ndim != 1 or ddl.shape != lum.shape or len(ddl) < 2:
            raise CalibrationError(f"{where}need at least two (driving level, luminance) pairs")
        if not (np.all(np.isfinite(lum)) and np.all(lum > 0)):
            raise CalibrationError(f"{where}luminances must be positive numbers (cd/m2)")
        if not (math.isfinite(self.ambient) and self.ambient >= 0):
            raise CalibrationError(f"{where}ambient luminance must be >= 0 cd/m2")
        order = np.argsort(ddl)
        ddl, lum = ddl[order], lum[order]
        if np.any(np.diff(ddl) <= 0):
            raise CalibrationError(f"{where}driving levels are repeated")
        if ddl[0] < 0 or ddl[-1] > self.max_ddl:
            raise CalibrationError(f"{where}driving levels must lie in 0..{self.max_ddl}")
        if np.any(np.diff(lum) <= 0):
            bad = int(ddl[1:][np.diff(lum) <= 0][0])
            raise CalibrationError(
                f"{where}luminance does not increase with the driving level (at DDL {bad})"
            )
        object.__setattr__(self, "ddl", ddl)
        object.__setattr__(self, "luminance", lum)

    def luminance_at(self, ddl: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Interpolated luminance (without ambient) at driving levels ``ddl``."""
        return np.power(10.0, np.interp(ddl, self.ddl, np.log10(self.luminance)))

    def full_curve(self) -> NDArray[np.float64]:
        """Luminance with ambient at every driving level 0..max_ddl (measured range only)."""
        levels = np.arange(int(self.ddl[0]), int(self.ddl[-1]) + 1, dtype=np.float64)
        return self.luminance_at(levels) + self.ambient

    def to_dict(self) -> dict[str, Any]:
        return {
            "ddl": self.ddl.tolist(),
            "luminance": self.luminance.tolist(),
            "ambient": self.ambient,
            "max_ddl": self.max_ddl,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> CharacteristicCurve:
        try:
            return cls(
                np.asarray(data["ddl"], float),
                np.asarray(data["luminance"], float),
                float(data.get("ambient", 0.0)),
                int(data.get("max_ddl", 255)),
                source,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"{source}: not a characteristic curve ({exc})") from exc

    @classmethod
    def from_dcmtk_file(cls, path: Path) -> CharacteristicCurve:
        """Read a DCMTK monitor characteristic file (``max N``, ``amb A``, ``DDL Lum`` rows)."""
        max_ddl, ambient, rows = 255, 0.0, []
        try:
            for raw in path.read_text().splitlines():
                line = raw.split("#", 1)[0].split()
                if not line:
                    continue
                if line[0] == "max":
                    max_ddl = int(line[1])
                elif line[0] == "amb":
                    ambient = float(line[1])
                elif line[0] in ("ord", "lum", "od", "illum"):
                    continue
                else:
                    rows.append((float(line[0]), float(line[1])))
        except (OSError, ValueError, IndexError) as exc:
            raise CalibrationError(f"{path}: cannot read characteristic curve ({exc})") from exc
        if not rows:
            raise CalibrationError(f"{path}: no (DDL, luminance) rows")
        arr = np.asarray(rows)
        return cls(arr[:, 0], arr[:, 1], ambient, max_ddl, str(path))


@dataclass(frozen=True)
class PresentationLUT:
    """P-value -> driving level table making a screen follow the GSDF.

    ``ddl[p]`` is the driving level for P-value ``p`` (0..entries-1);
    ``target`` the GSDF luminance wanted for it and ``achieved`` the measured
    luminance of the chosen level (both with ambient, cd/m2).
    """

    ddl: NDArray[np.int32]
    target: NDArray[np.float64]
    achieved: NDArray[np.float64]
    max_ddl: int
    jnd_range: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def entries(self) -> int:
        return len(self.ddl)

    def normalized(self) -> NDArray[np.float64]:
        """Driving levels scaled to 0..1 (what a VTK colour table holds)."""
        return self.ddl.astype(np.float64) / self.max_ddl

    def apply(self, p_values: NDArray[Any]) -> NDArray[np.int32]:
        """Map an image of P-values (integers 0..entries-1) to driving levels."""
        p = np.clip(np.asarray(p_values), 0, self.entries - 1).astype(np.intp)
        return self.ddl[p]


def presentation_lut(curve: CharacteristicCurve, entries: int = 256) -> PresentationLUT:
    """GSDF presentation LUT for a screen with this characteristic curve (PS3.14 Annex C).

    The P-values 0..entries-1 are spread evenly over the screen's JND range
    (ambient included); each is mapped to the measured driving level whose
    luminance is closest to the GSDF luminance of its JND index.
    """
    if entries < 2:
        raise ValueError("a presentation LUT needs at least 2 entries")
    levels = np.arange(int(curve.ddl[0]), int(curve.ddl[-1]) + 1)
    lum = curve.luminance_at(levels.astype(np.float64)) + curve.ambient
    j0 = float(gsdf.jnd_index(lum[0]))
    j1 = float(gsdf.jnd_index(lum[-1]))
    target = np.asarray(gsdf.luminance(np.linspace(j0, j1, entries)))
    # closest luminance in a monotonic table
    pos = np.clip(np.searchsorted(lum, target), 1, len(lum) - 1)
    lower_closer = np.abs(lum[pos - 1] - target) <= np.abs(lum[pos] - target)
    index = np.where(lower_closer, pos - 1, pos)
    return PresentationLUT(
        levels[index].astype(np.int32), target, lum[index], curve.max_ddl, (j0, j1)
    )


def vtk_lookup_table(lut: PresentationLUT) -> Any:
    """A ``vtkLookupTable`` of grey levels ``ddl[p] / max_ddl`` for P-values 0..entries-1.

    How the render layer applies it, after window/level has produced P-values:

    * with ``vtkImageMapToWindowLevelColors`` (unsigned char output 0..255) and a
      256-entry LUT: feed its output to ``vtkImageMapToColors`` with this table
      (``SetLookupTable(table)``, ``SetOutputFormatToLuminance()`` or RGB);
    * with ``vtkImageActor``/``vtkImageSliceMapper``: ``prop.SetLookupTable(table)``
      and ``prop.UseLookupTableScalarRangeOff()`` on its ``vtkImageProperty``; the
      property's window/level then spreads the scalar range over the table's
      entries, so the GSDF mapping follows the VOI window.

    The table range is set to ``(0, entries - 1)``.
    """
    from vtkmodules.vtkCommonCore import vtkLookupTable

    table = vtkLookupTable()
    table.SetNumberOfTableValues(lut.entries)
    table.SetTableRange(0, lut.entries - 1)
    table.Build()
    for p, grey in enumerate(lut.normalized()):
        table.SetTableValue(p, grey, grey, grey, 1.0)
    return table
