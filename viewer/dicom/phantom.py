"""A realistic synthetic chest/abdomen CT phantom, written as a DICOM series.

Anatomy (patient LPS: +x patient left, +y posterior, +z head), HU values of
real CT: air -1000, lung -850, fat -100, water/CSF ~0-10, soft tissue and
muscle 40-60, liver 100 (portal phase), kidneys 150, contrast-filled heart chambers and aorta 250,
cancellous bone 300, cortical bone and ribs 700-900, a metal-dense bead
2500. The body is an ellipse with skin, subcutaneous fat and muscle; the
upper part of the stack (thorax) holds both lungs with vessels, the heart
(left of the midline, anterior) and ribs; the lower part (abdomen) holds the
liver on the patient's RIGHT and an air-filled stomach on the LEFT; the
spine (vertebral bodies with discs, spinal canal, spinous process) and the
descending aorta run through the whole stack; a patient table lies behind
the patient.

Orientation marker: a dense bead on the patient's LEFT ANTERIOR side, only
in the upper (head-ward) fifth of the stack, so left/right, anterior/
posterior and head/feet are unmistakable in every plane.

:func:`phantom_slice` computes one axial slice on demand, so a 512x512x600
series (the benchmark) is written without holding the volume in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viewer.dicom.synthetic import SeriesSpec, write_series

AIR, LUNG, FAT, WATER, SOFT, MUSCLE, LIVER, KIDNEY = -1000, -850, -100, 5, 40, 50, 100, 150
CONTRAST, CANCELLOUS, CORTICAL, RIB, BEAD, TABLE, SKIN = 250, 300, 800, 700, 2500, 150, 30


@dataclass(frozen=True)
class PhantomGeometry:
    """Phantom grid: ``columns`` x ``rows`` pixels of ``pixel_mm``; ``slices`` of ``slice_mm``."""

    columns: int = 256
    rows: int = 256
    slices: int = 120
    pixel_mm: float | None = None  # default: 400 mm field of view
    slice_mm: float = 1.5
    z0: float = -100.0  # z (mm, LPS) of the lowest (feet-most) slice

    @property
    def spacing(self) -> float:
        return self.pixel_mm or 400.0 / max(self.columns, self.rows)

    @property
    def origin(self) -> tuple[float, float, float]:
        """IPP of the first slice's top-left pixel, centring the field of view on x = y = 0."""
        s = self.spacing
        return (-(self.columns - 1) * s / 2, -(self.rows - 1) * s / 2, self.z0)

    @property
    def z_top(self) -> float:
        return self.z0 + (self.slices - 1) * self.slice_mm

    def fraction(self, z: float) -> float:
        """Position of z in the stack, 0 at the feet end, 1 at the head end."""
        return (z - self.z0) / max(self.z_top - self.z0, 1e-6)


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0


def bead_center(geo: PhantomGeometry) -> tuple[float, float]:
    """(x, y) of the orientation bead: patient left (+x), anterior (-y), inside the body."""
    return (118.0, -62.0)


def bead_in_slice(geo: PhantomGeometry, z: float) -> bool:
    """The bead is only in the upper fifth of the stack (head end)."""
    return geo.fraction(z) >= 0.8


def phantom_slice(geo: PhantomGeometry, z: float, noise: float = 8.0, seed: int = 0) -> np.ndarray:
    """HU values (int16, rows x columns) of the axial slice at height ``z`` (LPS mm)."""
    s = geo.spacing
    ox, oy, _ = geo.origin
    x = (ox + np.arange(geo.columns) * s)[None, :]
    y = (oy + np.arange(geo.rows) * s)[:, None]
    f = geo.fraction(z)
    img = np.full((geo.rows, geo.columns), AIR, dtype=np.float32)

    # patient table, behind the patient (posterior = +y)
    img[np.broadcast_to((y > 132) & (y < 142) & (np.abs(x) < 190), img.shape)] = TABLE

    a, b = 165.0 + 10 * np.sin(np.pi * f), 112.0
    body = _ellipse(x, y, 0, 0, a, b)
    img[body] = SKIN
    img[_ellipse(x, y, 0, 0, a - 2.5, b - 2.5)] = FAT
    inner = _ellipse(x, y, 0, 0, a - 16, b - 14)
    img[inner] = MUSCLE

    thorax = f >= 0.45
    if thorax:
        lung_scale = min(1.0, (f - 0.45) / 0.12) * (1.0 - 0.35 * max(0.0, f - 0.85) / 0.15)
        for side in (-1, 1):
            lung = _ellipse(x, y, side * 72, 5, 55 * lung_scale + 1, 78 * lung_scale + 1)
            img[lung] = LUNG
            for vx, vy, r in ((35, -20, 3.5), (60, 15, 2.5), (85, -35, 2.0), (50, 45, 3.0)):
                img[lung & _ellipse(x, y, side * vx, vy, r, r)] = SOFT
        # heart: left of the midline, anterior; myocardium with contrast chambers
        if 0.5 <= f <= 0.78:
            heart = _ellipse(x, y, 22, -30, 58, 46)
            img[heart] = SOFT
            img[_ellipse(x, y, 10, -32, 22, 18) | _ellipse(x, y, 42, -22, 18, 16)] = CONTRAST
        if f > 0.78:  # ascending aorta / arch above the heart
            img[_ellipse(x, y, 5, -25, 14, 14)] = CONTRAST
        # ribs: bands along z, cross-sections around the chest wall
        if (z - geo.z0) % 24.0 < 11.0:
            for ang in np.radians([25, 50, 75, 105, 130, 155, 205, 230, 255, 285, 310, 335]):
                rx, ry = (a - 9) * np.cos(ang), (b - 8) * np.sin(ang)
                img[_ellipse(x, y, rx, ry, 6.0, 4.5)] = RIB
    else:
        # liver on the patient's RIGHT (-x), stomach with air on the LEFT (+x)
        liver_scale = 1.0 if f < 0.38 else max(0.2, 1 - (f - 0.38) / 0.1)
        img[_ellipse(x, y, -55, -5, 85 * liver_scale, 78 * liver_scale)] = LIVER
        stomach = _ellipse(x, y, 68, -35, 34, 30)
        img[stomach] = SOFT
        img[stomach & (y < -45)] = AIR  # air-fluid level: air anterior (supine)
        for side in (-1, 1):  # kidneys
            if f < 0.3:
                img[_ellipse(x, y, side * 62, 55, 22, 30)] = KIDNEY

    # descending aorta, left-anterior of the spine, the whole length
    img[_ellipse(x, y, 22, 32, 12, 12)] = CONTRAST
    # spine: vertebral body (cortical rim, cancellous core) or disc, canal, spinous process
    disc = (z - geo.z0) % 28.0 < 5.0
    body_v = _ellipse(x, y, 0, 62, 20, 17)
    img[body_v] = 80 if disc else CORTICAL
    if not disc:
        img[_ellipse(x, y, 0, 62, 16.5, 13.5)] = CANCELLOUS
    img[_ellipse(x, y, 0, 90, 10, 9)] = CORTICAL
    img[_ellipse(x, y, 0, 90, 7, 6)] = WATER  # spinal canal (CSF)
    img[_ellipse(x, y, 0, 108, 5, 10)] = CORTICAL  # spinous process

    if bead_in_slice(geo, z):
        bx, by = bead_center(geo)
        img[_ellipse(x, y, bx, by, 6, 6)] = BEAD

    if noise > 0:
        rng = np.random.default_rng((seed, round(z * 1000) % (1 << 32)))
        img += rng.normal(0.0, noise, img.shape).astype(np.float32) * (img > AIR + 1)
    return np.clip(np.rint(img), -1024, 3071).astype(np.int16)


class PhantomSlices:
    """Lazy sequence of the phantom's axial slices (index 0 = feet end)."""

    def __init__(self, geo: PhantomGeometry, noise: float = 8.0, seed: int = 0) -> None:
        self.geo, self.noise, self.seed = geo, noise, seed

    def __len__(self) -> int:
        return self.geo.slices

    def z(self, k: int) -> float:
        return self.geo.z0 + k * self.geo.slice_mm

    def __getitem__(self, k: int) -> np.ndarray:
        if not 0 <= k < self.geo.slices:
            raise IndexError(k)
        return phantom_slice(self.geo, self.z(k), self.noise, self.seed)

    def volume(self) -> np.ndarray:
        """All slices (slices, rows, columns) int16 (only for modest sizes)."""
        return np.stack([self[k] for k in range(len(self))])


def write_phantom_series(
    folder: Path | str,
    *,
    columns: int = 256,
    rows: int = 256,
    slices: int = 120,
    slice_mm: float = 1.5,
    pixel_mm: float | None = None,
    noise: float = 8.0,
    seed: int = 0,
    transfer_syntax: str | None = None,
    rescale: tuple[float, float] = (1.0, -1024.0),
    series_description: str = "Phantom chest-abdomen 1.5 mm",
    **spec_options: Any,
) -> list[Path]:
    """Write the phantom as an axial CT series (HFS, IOP 1,0,0/0,1,0) and return the file paths.

    Extra keyword options go to :class:`~viewer.dicom.synthetic.SeriesSpec`
    (e.g. ``instance_order="reverse"``, ``enhanced=True``, ``series_uid=...``,
    ``patient_name=...``). Stored values are unsigned 12-bit with intercept
    -1024 by default, as many scanners write them.
    """
    geo = PhantomGeometry(columns, rows, slices, pixel_mm, slice_mm)
    spec = SeriesSpec(
        iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
        origin=geo.origin,
        pixel_spacing=(geo.spacing, geo.spacing),
        slice_spacing=slice_mm,
        rescale=rescale,
        modality="CT",
        window=(40.0, 400.0),
        series_description=series_description,
        study_description="Regard phantom",
        value_range=(-1024.0, 3071.0),
        signed=False,
        bits_stored=12,
        seed=seed,
    )
    if transfer_syntax:
        spec.transfer_syntax = transfer_syntax
    return write_series(folder, PhantomSlices(geo, noise, seed), spec, **spec_options)


def expected_hu(geo: PhantomGeometry, point_lps: Sequence[float]) -> float:
    """Noise-free HU of the phantom at an LPS point (nearest pixel of the nearest slice)."""
    k = round((point_lps[2] - geo.z0) / geo.slice_mm)
    k = min(max(k, 0), geo.slices - 1)
    img = phantom_slice(geo, geo.z0 + k * geo.slice_mm, noise=0.0)
    ox, oy, _ = geo.origin
    i = round((point_lps[0] - ox) / geo.spacing)
    j = round((point_lps[1] - oy) / geo.spacing)
    return float(img[j, i])
