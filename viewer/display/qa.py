"""Display QA: a screen's measured luminance response against the GSDF (AAPM TG18).

The TG18-LN series shows 18 patches from 0 to full scale in equal P-value
steps. With the measured luminances ``L`` and the ambient luminance ``Lamb``
(``L' = L + Lamb``), AAPM TG18 section 4.3.3 evaluates the contrast response:
the JND range ``[j(L'min), j(L'max)]`` is spread over the levels in proportion
to their P-values (expected indices ``J``); for each pair of neighbouring
levels the measured contrast per JND is ``2 (L'b - L'a) / ((L'b + L'a) (Jb - Ja))``
and the GSDF's is the same expression with ``L(Ja)``, ``L(Jb)``. Their relative
deviation must stay within 10% on diagnostic screens and 20% on review screens.
Lmax, the luminance ratio ``L'max / L'min``, the ambient (below a quarter of
Lmin) and optionally the non-uniformity ``200 (max - min) / (max + min)`` are
checked against the policy (``[qa]`` in resources/policy/display.toml).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from viewer.display import gsdf
from viewer.display.policy import DisplayPolicy, load_policy

log = logging.getLogger(__name__)

# TG18-LN12-01..18: 12-bit levels 0..4080 in steps of 240
TG18_LN_LEVELS = tuple(240 * k for k in range(18))
ROLES = ("diagnostic", "mammography", "review")


class MeasurementError(ValueError):
    """A measurement file cannot be used; the message names the file and the problem."""


@dataclass
class Measurements:
    """Photometer readings of the TG18-LN patches (or any increasing P-value levels)."""

    levels: list[float]
    luminances: list[float]
    ambient: float = 0.0
    role: str | None = None
    uniformity: list[float] = field(default_factory=list)
    screen: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def validate(self) -> None:
        where = f"{self.source}: " if self.source else ""
        if len(self.levels) != len(self.luminances):
            raise MeasurementError(
                f"{where}{len(self.levels)} levels but {len(self.luminances)} luminances"
            )
        if len(self.levels) < 3:
            raise MeasurementError(f"{where}need at least 3 measured levels (TG18-LN has 18)")
        if any(not math.isfinite(v) or v <= 0 for v in self.luminances):
            raise MeasurementError(f"{where}luminances must be positive numbers (cd/m2)")
        if not math.isfinite(self.ambient) or self.ambient < 0:
            raise MeasurementError(f"{where}ambient luminance must be >= 0 cd/m2")
        if any(b <= a for a, b in zip(self.levels, self.levels[1:], strict=False)):
            raise MeasurementError(f"{where}levels must increase strictly")
        if self.role is not None and self.role not in ROLES:
            raise MeasurementError(f"{where}role must be one of {', '.join(ROLES)}")


@dataclass
class Interval:
    level_from: float
    level_to: float
    measured: float
    gsdf: float
    deviation: float


@dataclass
class QAResult:
    """Outcome of a contrast-response / luminance evaluation.

    ``worst_level`` is the 1-based number of the upper patch of the interval
    with the largest deviation (TG18-LN12-``NN``), ``worst_interval`` its two
    P-values.
    """

    passed: bool
    role: str
    max_deviation: float
    tolerance: float
    worst_level: int
    worst_interval: tuple[float, float]
    lmax: float
    lmin: float
    ambient: float
    ratio: float
    lmax_min: float
    ratio_min: float
    failures: list[str]
    intervals: list[Interval]
    non_uniformity: float | None = None
    guidance: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["pass"] = out.pop("passed")
        out["worst_interval"] = list(self.worst_interval)
        return out


def _tolerance_and_limits(policy: DisplayPolicy, role: str) -> tuple[float, float, float, str]:
    qa = policy.qa
    tolerance = float(qa.get("tolerance", {}).get(role, 0.10 if role != "review" else 0.20))
    guidance = str(qa.get("guidance", "tg270"))
    limits = qa.get("luminance", {}).get(guidance, {}).get(role, {})
    return (
        tolerance,
        float(limits.get("lmax_min", 0.0)),
        float(limits.get("ratio_min", 0.0)),
        guidance,
    )


def evaluate(
    m: Measurements, role: str | None = None, policy: DisplayPolicy | None = None
) -> QAResult:
    """Evaluate measured luminances against the GSDF and the policy's luminance limits."""
    m.validate()
    role = role or m.role or "diagnostic"
    if role not in ROLES:
        raise MeasurementError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    pol = policy or load_policy()
    tolerance, lmax_min, ratio_min, guidance = _tolerance_and_limits(pol, role)
    levels = np.asarray(m.levels, dtype=np.float64)
    lum = np.asarray(m.luminances, dtype=np.float64)
    lp = lum + m.ambient
    if np.any(np.diff(lp) <= 0):
        k = int(np.argmax(np.diff(lp) <= 0)) + 1
        where = f"{m.source}: " if m.source else ""
        raise MeasurementError(
            f"{where}luminance does not increase at level {k + 1} "
            f"({levels[k]:g}): the screen is not monotonic"
        )
    j0, j1 = float(gsdf.jnd_index(lp[0])), float(gsdf.jnd_index(lp[-1]))
    jexp = j0 + (levels - levels[0]) / (levels[-1] - levels[0]) * (j1 - j0)
    dj = np.diff(jexp)
    measured = 2 * np.diff(lp) / (lp[1:] + lp[:-1]) / dj
    expected = np.asarray(gsdf.contrast_per_jnd(jexp[:-1], jexp[1:]))
    deviation = np.abs(measured - expected) / expected
    worst = int(np.argmax(deviation))
    intervals = [
        Interval(
            float(levels[i]),
            float(levels[i + 1]),
            float(measured[i]),
            float(expected[i]),
            float(deviation[i]),
        )
        for i in range(len(dj))
    ]
    lmax, lmin = float(lum[-1]), float(lum[0])
    ratio = float(lp[-1] / lp[0])
    failures: list[str] = []
    if deviation[worst] > tolerance:
        failures.append(
            f"contrast response deviates {deviation[worst]:.1%} from the GSDF "
            f"between levels {worst + 1} and {worst + 2} "
            f"(tolerance {tolerance:.0%} for {role})"
        )
    if lmax < lmax_min:
        failures.append(f"Lmax {lmax:.4g} cd/m2 below {lmax_min:g} ({guidance}, {role})")
    if ratio < ratio_min:
        failures.append(f"luminance ratio {ratio:.4g} below {ratio_min:g} ({guidance}, {role})")
    amb_frac = float(pol.qa.get("ambient_max_fraction_of_lmin", 0.25))
    if m.ambient > amb_frac * lmin:
        failures.append(f"ambient {m.ambient:g} cd/m2 above {amb_frac:g} x Lmin ({lmin:.4g})")
    non_uniformity = None
    if m.uniformity:
        u = np.asarray(m.uniformity, dtype=np.float64)
        non_uniformity = float(200 * (u.max() - u.min()) / (u.max() + u.min()))
        limit = float(pol.qa.get("non_uniformity_max_percent", 30.0))
        if non_uniformity > limit:
            failures.append(f"non-uniformity {non_uniformity:.1f}% above {limit:g}%")
    return QAResult(
        passed=not failures,
        role=role,
        max_deviation=float(deviation[worst]),
        tolerance=tolerance,
        worst_level=worst + 2,
        worst_interval=(float(levels[worst]), float(levels[worst + 1])),
        lmax=lmax,
        lmin=lmin,
        ambient=m.ambient,
        ratio=ratio,
        lmax_min=lmax_min,
        ratio_min=ratio_min,
        failures=failures,
        intervals=intervals,
        non_uniformity=non_uniformity,
        guidance=guidance,
    )


def _number(value: Any, what: str, source: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise MeasurementError(f"{source}: {what} is not a number: {value!r}") from exc


def _from_json(doc: Any, source: str) -> Measurements:
    if not isinstance(doc, dict):
        raise MeasurementError(f"{source}: expected a JSON object")
    if "measurements" in doc:
        rows = doc["measurements"]
        if not isinstance(rows, list):
            raise MeasurementError(f"{source}: 'measurements' must be a list")
        levels = [_number(r.get("level"), "level", source) for r in rows]
        lums = [_number(r.get("luminance"), "luminance", source) for r in rows]
    elif "luminances" in doc:
        lums = [_number(v, "luminance", source) for v in doc["luminances"]]
        levels = [_number(v, "level", source) for v in doc.get("levels", [])] or _default_levels(
            len(lums), source
        )
    else:
        raise MeasurementError(f"{source}: no 'measurements' or 'luminances'")
    return Measurements(
        levels,
        lums,
        _number(doc.get("ambient", 0.0), "ambient", source),
        doc.get("role"),
        [_number(v, "uniformity", source) for v in doc.get("uniformity", [])],
        dict(doc.get("screen", {})),
        source,
    )


def _default_levels(n: int, source: str) -> list[float]:
    if n != len(TG18_LN_LEVELS):
        raise MeasurementError(
            f"{source}: {n} luminances without levels (only the 18 TG18-LN patches may omit them)"
        )
    return [float(v) for v in TG18_LN_LEVELS]


def _from_csv(text: str, source: str) -> Measurements:
    """``level,luminance`` rows; ``ambient,<L>``, ``role,<name>`` and ``uniformity,<L>`` rows
    may be mixed in; lines starting with ``#`` are comments."""
    levels: list[float] = []
    lums: list[float] = []
    uniformity: list[float] = []
    ambient, role = 0.0, None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for n, row in enumerate(csv.reader(io.StringIO("\n".join(lines))), start=1):
        cells = [c.strip() for c in row]
        if len(cells) < 2:
            raise MeasurementError(f"{source}: row {n}: expected two columns, got {row!r}")
        key = cells[0].lower()
        if n == 1 and key in ("level", "ddl", "p-value", "pvalue"):
            continue
        if key == "ambient":
            ambient = _number(cells[1], "ambient", source)
        elif key == "role":
            role = cells[1].lower()
        elif key == "uniformity":
            uniformity.append(_number(cells[1], "uniformity", source))
        else:
            levels.append(_number(cells[0], f"row {n} level", source))
            lums.append(_number(cells[1], f"row {n} luminance", source))
    return Measurements(levels, lums, ambient, role, uniformity, {}, source)


def read_measurements(path: Path) -> Measurements:
    """Read measurements from a CSV or JSON file (chosen by content, not extension)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MeasurementError(f"{path}: cannot read measurements ({exc})") from exc
    if text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MeasurementError(f"{path}: invalid JSON ({exc})") from exc
        m = _from_json(doc, str(path))
    else:
        m = _from_csv(text, str(path))
    m.validate()
    return m
