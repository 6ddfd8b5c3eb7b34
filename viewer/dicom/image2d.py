"""Series that are not volumes: projection radiographs, cine loops, colour photos.

A diagnostic viewer shows any modality in grey or colour (IHE Basic Image
Review). :mod:`viewer.dicom.assemble` builds volumes only from images that
carry Image Position/Orientation (Patient); everything else (CR, DX, MG, IO,
XA, RF, US cine, NM frames, VL photographs, secondary captures) is an
:class:`ImageSeries`: an ordered list of 2-D frames, decoded one at a time
when asked for, with what the display needs from each header:

* the pixel chain of :mod:`viewer.dicom.pixels` (PS3.3 C.11: Modality LUT,
  VOI window or VOI LUT Sequence, MONOCHROME1, palette, RGB/YBR, and the
  Supplemental Palette Color LUT of grey images, C.8.16.2.1.1.1);
* the pixel spacing *and what it means* (PS3.3 10.7.1.3, see :func:`spacing_of`);
* Patient Orientation (0020,0020) letters for the image edges (PS3.3 C.7.6.1.1.1);
* Image Laterality / Laterality and View Position for hanging mammograms;
* cine timing: Frame Time, Frame Time Vector, Cine Rate, Recommended Display
  Frame Rate (PS3.3 C.7.6.5);
* the lossy flag (PS3.3 C.7.6.1.1.5).

:func:`load_series` chooses between a :class:`~viewer.dicom.volume.Volume`
(when the geometry allows MPR) and an :class:`ImageSeries`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from viewer.dicom import pixels
from viewer.dicom.errors import DicomReadError
from viewer.dicom.volume import Volume

logger = logging.getLogger(__name__)

# SOP classes of projection images, cine and photographs (never volumes, even with IPP/IOP):
# exact UIDs and family prefixes (PS3.4 B.5).
PROJECTION_SOP_UIDS = frozenset({
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.3",  # US multi-frame (retired)
    "1.2.840.10008.5.1.4.1.1.3.1",  # US multi-frame
    "1.2.840.10008.5.1.4.1.1.6",  # US (retired)
    "1.2.840.10008.5.1.4.1.1.7",  # secondary capture
})
PROJECTION_SOP_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.1.",  # DX (.1.1), MG (.1.2), IO (.1.3)
    "1.2.840.10008.5.1.4.1.1.12.",  # XA, RF, enhanced XA/XRF
    "1.2.840.10008.5.1.4.1.1.6.",  # US, enhanced US
    "1.2.840.10008.5.1.4.1.1.7.",  # multi-frame secondary captures
    "1.2.840.10008.5.1.4.1.1.77.1.",  # VL endoscopic / microscopic / photographic
)


def is_projection_sop(uid: str) -> bool:
    """True for SOP classes of projection radiography, cine, US and photographs."""
    uid = str(uid).strip()
    return uid in PROJECTION_SOP_UIDS or uid.startswith(PROJECTION_SOP_PREFIXES)


# Patient Orientation letters and their opposites (PS3.3 C.7.6.1.1.1).
_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}

SPACING_KINDS = (
    "calibrated", "detector", "magnification", "scanned", "region", "unknown", "none",
)
SPACING_LABELS = {
    "calibrated": "calibrated",
    "region": "ultrasound region",
    "detector": "at detector",
    "magnification": "magnification corrected (estimated)",
    "scanned": "scanned film",
    "unknown": "uncertain (projection)",
    "none": "no spacing (pixels)",
}

DEFAULT_CACHE_BYTES = 512 * 1024**2


# ---------------------------------------------------------------- pixel spacing


@dataclass(frozen=True)
class Spacing:
    """Pixel spacing (mm) as (row spacing, column spacing), the order of (0028,0030),
    with what it means (PS3.3 10.7.1.3): one of :data:`SPACING_KINDS`."""

    spacing: tuple[float, float] | None
    kind: str
    detail: str = ""

    @property
    def label(self) -> str:
        """Caveat to print beside measurements (e.g. ``"at detector"``)."""
        return SPACING_LABELS.get(self.kind, self.kind)

    @property
    def column_mm(self) -> float | None:
        """Width of one pixel (mm): the distance between columns."""
        return None if self.spacing is None else self.spacing[1]


def _pair(value: Any) -> tuple[float, float] | None:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(out) != 2 or not all(v > 0 and v == v for v in out):
        return None
    return out[0], out[1]


def is_projection(ds: Dataset) -> bool:
    """True for projection radiography / cine / photo SOP classes (no patient geometry)."""
    return is_projection_sop(str(ds.get("SOPClassUID", "")))


def spacing_of(ds: Dataset) -> Spacing:
    """What one pixel measures, as peer viewers (cornerstone, Weasis) read PS3.3 10.7.1.3.

    * Not projection radiography: Pixel Spacing (0028,0030) is in the patient
      (or Pixel Measures functional group) -> ``calibrated``.
    * Projection (CR/DX/MG/IO/XA/RF): Imager Pixel Spacing (0018,1164) is at the
      detector plane. Pixel Spacing equal to it -> ``detector`` (nothing was
      corrected); different -> ``calibrated`` (Pixel Spacing Calibration Type
      (0028,0A02) / Description say how); Imager Pixel Spacing alone divided by
      Estimated Radiographic Magnification Factor (0018,1114) ->
      ``magnification`` (an estimate at the object, C.8.11.1.1.1); Imager
      Pixel Spacing alone -> ``detector``; Pixel Spacing alone -> ``unknown``.
    * Nominal Scanned Pixel Spacing (0018,2010) of a digitised film -> ``scanned``.
    * Ultrasound without Pixel Spacing: the 2-D regions of the Sequence of
      Ultrasound Regions (0018,6011) in cm (C.8.5.5.1) when they all agree -> ``region``
      (valid inside those regions only).
    * No spacing -> ``none`` (measurements in pixels only).
    """
    ps = _pair(ds.get("PixelSpacing"))
    if ps is None:
        ps = _pair(_group_value(ds, "PixelMeasuresSequence", "PixelSpacing"))
    ips = _pair(ds.get("ImagerPixelSpacing"))
    nominal = _pair(ds.get("NominalScannedPixelSpacing"))
    calibration = str(ds.get("PixelSpacingCalibrationType", "") or "").strip()
    if not is_projection(ds) and ips is None:
        if ps is not None:
            return Spacing(ps, "calibrated", "Pixel Spacing")
        if nominal is not None:
            return Spacing(nominal, "scanned", "Nominal Scanned Pixel Spacing")
        return Spacing(None, "none")
    if ps is not None and ips is not None:
        if np.allclose(ps, ips, rtol=1e-4, atol=0):
            return Spacing(ps, "detector", "Pixel Spacing = Imager Pixel Spacing")
        detail = f"Pixel Spacing Calibration Type {calibration}" if calibration else "Pixel Spacing"
        return Spacing(ps, "calibrated", detail)
    if ips is not None:
        try:
            ermf = float(ds.get("EstimatedRadiographicMagnificationFactor", 0) or 0)
        except (TypeError, ValueError):
            ermf = 0.0
        if ermf > 0 and abs(ermf - 1.0) > 1e-6:
            return Spacing(
                (ips[0] / ermf, ips[1] / ermf), "magnification",
                f"Imager Pixel Spacing / Estimated Radiographic Magnification Factor {ermf:g}",
            )
        return Spacing(ips, "detector", "Imager Pixel Spacing")
    if ps is not None:
        if calibration:
            return Spacing(ps, "calibrated", f"Pixel Spacing Calibration Type {calibration}")
        return Spacing(ps, "unknown", "Pixel Spacing without Imager Pixel Spacing")
    if nominal is not None:
        return Spacing(nominal, "scanned", "Nominal Scanned Pixel Spacing")
    region = ultrasound_region_spacing(ds)
    if region is not None:
        return Spacing(region, "region", "Sequence of Ultrasound Regions (2-D, cm)")
    return Spacing(None, "none")


def ultrasound_region_spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm shared by every 2-D tissue region in cm, PS3.3 C.8.5.5.1.

    Regions with Region Spatial Format 1 (2-D) and Physical Units X/Y 3 (cm)
    count; None when there is none or when they disagree (then a measurement
    depends on where it is, which a single scale bar cannot say).
    """
    found: list[tuple[float, float]] = []
    for region in ds.get("SequenceOfUltrasoundRegions") or []:
        try:
            if int(region.get("RegionSpatialFormat", 0)) != 1:
                continue
            if int(region.get("PhysicalUnitsXDirection", 0)) != 3:
                continue
            if int(region.get("PhysicalUnitsYDirection", 0)) != 3:
                continue
            dx, dy = float(region.PhysicalDeltaX), float(region.PhysicalDeltaY)
        except (AttributeError, TypeError, ValueError):
            continue
        if dx > 0 and dy > 0:
            found.append((abs(dy) * 10.0, abs(dx) * 10.0))
    if not found or not all(np.allclose(f, found[0], rtol=1e-6) for f in found):
        return None
    return found[0]


def pixel_aspect(ds: Dataset, spacing: Spacing) -> float:
    """Height / width of one pixel: from the spacing, else Pixel Aspect Ratio (0028,0034)."""
    if spacing.spacing is not None:
        return spacing.spacing[0] / spacing.spacing[1]
    par = ds.get("PixelAspectRatio")
    try:
        vertical, horizontal = (float(v) for v in par)  # type: ignore[union-attr]
        if vertical > 0 and horizontal > 0:
            return vertical / horizontal
    except (TypeError, ValueError):
        pass
    return 1.0


def _group_value(ds: Dataset, sequence: str, keyword: str) -> Any:
    for fg in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        groups = ds.get(fg)
        if groups:
            seq = groups[0].get(sequence)
            if seq and keyword in seq[0]:
                return seq[0].get(keyword)
    return None


# ---------------------------------------------------------------- orientation letters


def opposite_letters(text: str) -> str:
    """``"FL"`` -> ``"HR"`` (PS3.3 C.7.6.1.1.1 letters); unknown letters give ``""``."""
    out = []
    for ch in text.upper():
        if ch not in _OPPOSITE:
            return ""
        out.append(_OPPOSITE[ch])
    return "".join(out)


def patient_orientation(ds: Dataset) -> tuple[str, str] | None:
    """(row direction, column direction) of (0020,0020): the patient direction towards
    the image's right edge (increasing column) and its bottom edge (increasing row)."""
    value = ds.get("PatientOrientation")
    if value is None or isinstance(value, str | bytes):
        text = str(value or "").strip()
        parts = [p for p in text.replace("\\", " ").split() if p]
    else:
        parts = [str(v).strip() for v in value]
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0].upper(), parts[1].upper()


def edge_labels(orientation: tuple[str, str] | None) -> dict[str, str]:
    """Letters for each edge of the image as stored (no rotation)."""
    if orientation is None:
        return {"left": "", "right": "", "top": "", "bottom": ""}
    row, col = orientation
    return {"right": row, "left": opposite_letters(row), "bottom": col,
            "top": opposite_letters(col)}


# ---------------------------------------------------------------- cine timing


def frame_times_ms(ds: Dataset, n_frames: int) -> list[float] | None:
    """Interval (ms) from each frame to the next, PS3.3 C.7.6.5 Cine module.

    Frame Time Vector (0018,1065) gives each frame's increment from the
    previous one (first value 0), so the interval after frame i is its value
    i+1 (the last frame repeats the mean); else Frame Time (0018,1063); else
    1000 / Cine Rate (0018,0040); else 1000 / Recommended Display Frame Rate
    (0008,2144). None when the header says nothing.
    """
    vector = ds.get("FrameTimeVector")
    if vector is not None and not isinstance(vector, str | bytes) and len(vector) >= 2:
        try:
            inc = [float(v) for v in vector]
        except (TypeError, ValueError):
            inc = []
        if len(inc) >= 2 and all(v >= 0 for v in inc[1:]):
            steps = inc[1:n_frames] if len(inc) >= n_frames else inc[1:]
            mean = float(np.mean(steps)) if steps else 0.0
            out = [inc[i + 1] if i + 1 < len(inc) else mean for i in range(n_frames)]
            if all(v > 0 for v in out):
                return out
    for keyword, per_second in (("FrameTime", False), ("CineRate", True),
                                ("RecommendedDisplayFrameRate", True)):
        try:
            v = float(ds.get(keyword, 0) or 0)
        except (TypeError, ValueError):
            continue
        if v > 0:
            return [1000.0 / v if per_second else v] * n_frames
    return None


# ---------------------------------------------------------------- the series


@dataclass
class FrameInfo:
    """One displayable 2-D frame: where it is and what its header says."""

    path: Path
    frame: int  # index of the frame in its file
    instance_number: int | None
    n_frames_in_file: int
    rows: int
    columns: int
    photometric: str
    samples: int
    spacing: Spacing
    aspect: float
    orientation: tuple[str, str] | None
    laterality: str
    view_position: str
    interval_ms: float | None
    lossy: bool
    bits_stored: int
    modality: str
    acquisition: str  # acquisition / content date-time, for ordering
    # grey frame shown with its Supplemental Palette Color LUT (PS3.3 C.8.16.2.1.1.1):
    # its values stay grey (modality units), its display is RGB
    supplemental_palette: bool = False

    @property
    def colour(self) -> bool:
        return self.samples > 1 or self.photometric == "PALETTE COLOR"

    @property
    def monochrome1(self) -> bool:
        return self.photometric == "MONOCHROME1"


@dataclass
class ImageSeries:
    """A non-volume series: frames in display order, decoded lazily (Qt-free).

    ``frames[n]`` says where frame n is (file, frame index) and what its
    header says; :meth:`values` gives it in modality units (grey, PS3.3 C.11.1)
    or as 8-bit RGB (colour, palette applied); :meth:`display` gives the 8-bit
    image as :func:`viewer.dicom.pixels.to_display` computes it (dcmj2pnm-exact).
    Decoded frames stay in an LRU cache of ``cache_bytes``.
    """

    series_uid: str
    modality: str
    frames: list[FrameInfo]
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # study/series descriptors, never logged
    cache_bytes: int = DEFAULT_CACHE_BYTES

    def __post_init__(self) -> None:
        self._headers: OrderedDict[Path, Dataset] = OrderedDict()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cached = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------ building
    @classmethod
    def from_paths(
        cls, paths: list[Path | str], order: str = "instance", series_uid: str = ""
    ) -> ImageSeries:
        """Read the headers of ``paths`` (pixels deferred) and order their frames.

        ``order``: ``"instance"`` (Instance Number, then file, then frame) or
        ``"acquisition"`` (Acquisition/Content date-time, then the same).
        Files that cannot be read raise :class:`DicomReadError` naming them.
        """
        if order not in ("instance", "acquisition"):
            raise ValueError(f"unknown frame order {order!r}: 'instance' or 'acquisition'")
        series = cls(series_uid=series_uid, modality="", frames=[])
        records: list[FrameInfo] = []
        for p in paths:
            ds = series._header(Path(p))
            records.extend(_frames_of(ds, Path(p)))
        if not records:
            raise DicomReadError(None, "no image frames in the series")

        def key(f: FrameInfo) -> tuple[Any, ...]:
            number = f.instance_number if f.instance_number is not None else 1 << 30
            if order == "acquisition":
                return (f.acquisition, number, str(f.path), f.frame)
            return (number, str(f.path), f.frame)

        records.sort(key=key)
        first = series._header(records[0].path)
        series.frames = records
        series.modality = records[0].modality
        series.series_uid = series_uid or str(first.get("SeriesInstanceUID", ""))
        series.meta = {
            "study_description": str(first.get("StudyDescription", "") or ""),
            "series_description": str(first.get("SeriesDescription", "") or ""),
            "series_number": str(first.get("SeriesNumber", "") or ""),
            "study_uid": str(first.get("StudyInstanceUID", "") or ""),
        }
        series.warnings = _warnings(records)
        return series

    @classmethod
    def from_entry(cls, entry: Any, order: str = "instance") -> ImageSeries:
        """From a :class:`viewer.dicom.index.SeriesEntry` (anything with ``.instances``)."""
        return cls.from_paths([i.path for i in entry.instances], order,
                              getattr(entry, "series_uid", ""))

    # ------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.frames)

    @property
    def lossy(self) -> bool:
        return any(f.lossy for f in self.frames)

    @property
    def colour(self) -> bool:
        return any(f.colour for f in self.frames)

    @property
    def n_instances(self) -> int:
        return len({f.path for f in self.frames})

    def header(self, n: int) -> Dataset:
        """The (pixel-deferred) header of frame ``n``'s file."""
        return self._header(self.frames[n].path)

    def _header(self, path: Path) -> Dataset:
        with self._lock:
            ds = self._headers.get(path)
            if ds is None:
                ds, _ = pixels.open_dataset(path)
                self._headers[path] = ds
                while len(self._headers) > 64:
                    self._headers.popitem(last=False)
            else:
                self._headers.move_to_end(path)
            return ds

    def stored(self, n: int) -> np.ndarray:
        """Frame ``n`` in stored values ((rows, cols) or (rows, cols, 3); YBR -> RGB)."""
        f = self.frames[n]
        ds = self._header(f.path)
        return pixels.read_frame(ds, f.frame)

    def values(self, n: int) -> np.ndarray:
        """Frame ``n`` ready for a display pipeline, cached.

        Grey: modality units (PS3.3 C.11.1), float32 when rescaled, else the
        stored integers. Colour: uint8 RGB (palette applied, C.7.6.3.1.5;
        samples above 8 bits keep their top 8).
        """
        with self._lock:
            hit = self._cache.get(n)
            if hit is not None:
                self._cache.move_to_end(n)
                return hit
        f = self.frames[n]
        ds = self._header(f.path)
        stored = self.stored(n)
        if f.photometric == "PALETTE COLOR":
            out = pixels.palette_to_rgb8(ds, stored)
        elif stored.ndim == 3:
            out = pixels.rgb_to_8bit(ds, stored)
        else:
            out = pixels.modality_lut(ds, stored, f.frame)
            if out.dtype == np.float64:
                out = out.astype(np.float32)
        out = np.ascontiguousarray(out)
        out.setflags(write=False)
        with self._lock:
            self._cache[n] = out
            self._cached += out.nbytes
            while self._cached > self.cache_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached -= old.nbytes
        return out

    def display(
        self, n: int, window: tuple[float, float] | str | None = None, invert: bool = False
    ) -> np.ndarray:
        """8-bit image of frame ``n`` by :func:`viewer.dicom.pixels.to_display` (the
        header's VOI: first window, VOI LUT Sequence, function; MONOCHROME1 inverted).

        A frame with a Supplemental Palette Color LUT comes out RGB: grey below the
        palette's first mapped value (inverted by ``invert``), the palette above.
        """
        f = self.frames[n]
        ds, stored = self._header(f.path), self.stored(n)
        if not f.supplemental_palette:
            return pixels.to_display(ds, f.frame, window, stored=stored)
        grey = pixels.to_display(ds, f.frame, window, stored=stored, supplemental=False)
        if invert:
            grey = 255 - grey
        return pixels.apply_supplemental_palette(ds, stored, grey)

    def header_voi(self, n: int) -> tuple[float, float, str] | None:
        """First window of the header (centre, width, VOI LUT Function), PS3.3 C.11.2."""
        f = self.frames[n]
        if f.colour:
            return None
        return pixels.frame_window(self._header(f.path), f.frame)

    def has_voi_lut_sequence(self, n: int) -> bool:
        f = self.frames[n]
        return not f.colour and bool(self._header(f.path).get("VOILUTSequence"))

    def windows(self, n: int) -> list[tuple[float, float, str, str]]:
        """Every header window of frame ``n`` (centre, width, function, explanation)."""
        f = self.frames[n]
        if f.colour:
            return []
        return pixels.header_windows(self._header(f.path), f.frame)

    def default_window(self, n: int = 0) -> tuple[float, float]:
        """(centre, width) to start with: the header's first window, else (8 bits or
        fewer stored) the whole stored range after the Modality LUT, else the frame's
        min..max as ``dcmj2pnm +Wm`` (width max-min+1) without the Pixel Padding
        Value (range) pixels (PS3.3 C.7.5.1.1.2). Kept for the whole cine."""
        voi = self.header_voi(n)
        if voi is not None and voi[1] >= 1:
            return voi[0], voi[1]
        f = self.frames[n]
        if f.colour:
            return 127.5, 256.0
        ds = self._header(f.path)
        if f.bits_stored <= 8 and int(ds.get("PixelRepresentation", 0) or 0) == 0:
            ends = pixels.modality_lut(ds, np.array([0, (1 << f.bits_stored) - 1]), f.frame)
            lo, hi = float(np.min(ends)), float(np.max(ends))
        else:
            v = self.values(n)
            keep = _not_padding(ds, self.stored(n)) if "PixelPaddingValue" in ds else None
            if keep is not None and keep.any():
                v = v[keep]
            lo, hi = float(np.min(v)), float(np.max(v))
        width = hi - lo + 1.0 if hi > lo else 1.0
        return lo + width / 2.0, width

    def overlay_mask(self, n: int) -> np.ndarray | None:
        """Every overlay plane of frame ``n`` as one (rows, cols) bool mask, or None.

        PS3.3 C.9.2: Overlay Data (60xx,3000) placed at Overlay Origin (60xx,0050,
        1-based row\\column, clipped to the image), and the retired overlays kept in
        an unused high bit of native Pixel Data (Overlay Bit Position (60xx,0102),
        C.9.2.1.3). A multi-frame overlay (Number of Frames in Overlay (60xx,0015))
        draws its frame ``f - (Image Frame Origin (60xx,0051) - 1)`` on image frame ``f``
        (C.9.3.1.1) and nothing on frames it does not cover; a single-frame overlay is
        drawn on every frame. ROI ("R") overlays are not drawn.
        """
        f = self.frames[n]
        ds = self._header(f.path)
        tags = list(ds.keys())  # tags only: iterating the elements would load Pixel Data
        groups = sorted({t.group for t in tags if 0x6000 <= t.group <= 0x601E and t.group % 2 == 0})
        if not groups:
            return None
        mask = np.zeros((f.rows, f.columns), dtype=bool)
        for group in groups:
            plane = _overlay_plane(ds, group, f)
            if plane is not None:
                mask |= plane
        return mask if mask.any() else None

    def frame_interval_ms(self, n: int) -> float | None:
        """Time (ms) from frame ``n`` to the next (PS3.3 C.7.6.5), None when unknown."""
        return self.frames[n].interval_ms

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (the ``regard info --series`` contract for 2-D series)."""
        f = self.frames[0]
        sp = f.spacing
        out: dict[str, Any] = {
            "kind": "image",
            "series_uid": self.series_uid,
            "modality": self.modality,
            "frames": len(self.frames),
            "instances": self.n_instances,
            "rows": f.rows,
            "columns": f.columns,
            "pixel_spacing": list(sp.spacing) if sp.spacing is not None else None,
            "spacing_kind": sp.kind,
            "spacing_label": sp.label,
            "photometric": f.photometric,
            "colour": f.colour,
            "patient_orientation": list(f.orientation) if f.orientation else None,
            "laterality": f.laterality,
            "view_position": f.view_position,
            "frame_time_ms": f.interval_ms,
            "lossy": self.lossy,
            "warnings": list(self.warnings),
        }
        voi = self.header_voi(0)
        if voi is not None:
            out["window"] = {"center": voi[0], "width": voi[1], "function": voi[2]}
        return out


def _not_padding(ds: Dataset, stored: np.ndarray) -> np.ndarray | None:
    """Mask of the pixels that are not padding: Pixel Padding Value (0028,0120), up to
    Pixel Padding Range Limit (0028,0121) when present (PS3.3 C.7.5.1.1.2)."""
    try:
        pad = int(ds.PixelPaddingValue)
        limit = int(ds.get("PixelPaddingRangeLimit", pad))
    except (TypeError, ValueError):
        return None
    lo, hi = min(pad, limit), max(pad, limit)
    return ~((stored >= lo) & (stored <= hi))


def _overlay_plane(ds: Dataset, group: int, f: FrameInfo) -> np.ndarray | None:
    """One overlay plane on the image grid (see :meth:`ImageSeries.overlay_mask`)."""
    from pydicom.tag import Tag

    def value(element: int) -> Any:
        item = ds.get(Tag(group, element))
        return None if item is None else item.value

    kind = str(value(0x0040) or "G").strip().upper()
    rows, cols = value(0x0010), value(0x0011)
    if kind == "R" or not rows or not cols:
        return None
    try:
        origin = [int(v) for v in (value(0x0050) or [1, 1])]
    except (TypeError, ValueError):
        origin = [1, 1]
    if value(0x3000) is not None:
        index = _overlay_frame(value(0x0015), value(0x0051), f.frame)
        if index is None:
            return None
        try:
            plane = np.asarray(ds.overlay_array(group), dtype=bool)
        except Exception as exc:  # a broken overlay must not hide the image
            logger.debug("overlay %04x not drawn: %s", group, exc)
            return None
        if plane.ndim == 3:
            if index >= plane.shape[0]:
                return None
            plane = plane[index]
    else:
        plane = _embedded_overlay(ds, group, value(0x0102), f)
        if plane is None:
            return None
        origin = [1, 1]
    out = np.zeros((f.rows, f.columns), dtype=bool)
    r0, c0 = origin[0] - 1, origin[1] - 1
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + plane.shape[0], f.rows), min(c0 + plane.shape[1], f.columns)
    if re > rs and ce > cs:
        out[rs:re, cs:ce] = plane[rs - r0:re - r0, cs - c0:ce - c0]
    return out


def _overlay_frame(n_frames: Any, origin: Any, frame: int) -> int | None:
    """Frame of a (60xx,3000) overlay drawn on image frame ``frame`` (0-based), None if none.

    PS3.3 C.9.3.1.1: overlay frame k applies to image frame Image Frame Origin + k
    (both 1-based). Without Number of Frames in Overlay the single plane applies to
    every frame.
    """
    try:
        count = int(n_frames) if n_frames not in (None, "") else 0
    except (TypeError, ValueError):
        count = 0
    if count <= 0:
        return 0
    try:
        first = int(origin) if origin not in (None, "") else 1
    except (TypeError, ValueError):
        first = 1
    index = frame - (first - 1)
    return index if 0 <= index < count else None


def _embedded_overlay(ds: Dataset, group: int, bit: Any, f: FrameInfo) -> np.ndarray | None:
    """Retired overlay in bit ``bit`` of native 16-bit Pixel Data (PS3.3 C.9.2.1.3)."""
    from viewer.dicom import codecs

    try:
        bit = int(bit)
    except (TypeError, ValueError):
        return None
    ts = str(ds.file_meta.TransferSyntaxUID)
    if (ts not in codecs.NATIVE_SYNTAXES or int(ds.get("BitsAllocated", 0)) != 16
            or bit < int(ds.get("BitsStored", 16)) or bit > 15 or f.samples != 1):
        return None
    raw = ds.PixelData
    size = f.rows * f.columns
    order = ">" if ts == codecs.EXPLICIT_BE else "<"
    words = np.frombuffer(raw, dtype=f"{order}u2", count=size, offset=2 * size * f.frame)
    return ((words >> bit) & 1).astype(bool).reshape(f.rows, f.columns)


def _text(ds: Dataset, keyword: str) -> str:
    v = ds.get(keyword, "")
    return "" if v is None else str(v).strip()


def _frames_of(ds: Dataset, path: Path) -> list[FrameInfo]:
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomReadError(path, "not an image (no Rows/Columns)")
    try:
        n = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        n = 1
    spacing = spacing_of(ds)
    times = frame_times_ms(ds, n) if n > 1 or "FrameTime" in ds else None
    try:
        number: int | None = int(ds.get("InstanceNumber"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = None
    acquisition = (_text(ds, "AcquisitionDateTime")
                   or _text(ds, "AcquisitionDate") + _text(ds, "AcquisitionTime")
                   or _text(ds, "ContentDate") + _text(ds, "ContentTime"))
    common = dict(
        path=path, instance_number=number, n_frames_in_file=n,
        rows=int(ds.Rows), columns=int(ds.Columns),
        photometric=_text(ds, "PhotometricInterpretation") or "MONOCHROME2",
        samples=int(ds.get("SamplesPerPixel", 1) or 1),
        spacing=spacing, aspect=pixel_aspect(ds, spacing),
        orientation=patient_orientation(ds),
        laterality=_text(ds, "ImageLaterality") or _text(ds, "Laterality"),
        view_position=_text(ds, "ViewPosition"),
        lossy=pixels.is_lossy(ds),
        bits_stored=int(ds.get("BitsStored", ds.get("BitsAllocated", 8)) or 8),
        modality=_text(ds, "Modality"), acquisition=acquisition,
    )
    return [
        FrameInfo(frame=k, interval_ms=times[k] if times else None,  # type: ignore[arg-type]
                  supplemental_palette=pixels.has_supplemental_palette(ds, k), **common)
        for k in range(n)
    ]


def _warnings(frames: list[FrameInfo]) -> list[str]:
    out = []
    if any(f.lossy for f in frames):
        out.append("lossy")
    kinds = {f.spacing.kind for f in frames}
    first = frames[0].spacing
    if first.kind in ("detector", "magnification", "unknown", "scanned", "region"):
        out.append(f"measurements {first.label}")
    if len(kinds) > 1:
        out.append("pixel spacing meaning differs between images")
    if len({(f.rows, f.columns) for f in frames}) > 1:
        out.append("image sizes differ")
    return out


# ---------------------------------------------------------------- volume or 2-D


def volume_possible(entry: Any) -> bool:
    """True when the series may be a volume: grey, no projection / cine / photo SOP class,
    and patient geometry (Image Position and Orientation) on at least one instance.

    Files without geometry in an otherwise complete stack are left to
    :func:`viewer.dicom.assemble.assemble`, which skips them with a warning.
    """
    instances = list(getattr(entry, "instances", []))
    if not instances:
        return False
    for i in instances:
        if getattr(i, "samples_per_pixel", 1) != 1 or "PALETTE" in getattr(i, "photometric", ""):
            return False
        if is_projection_sop(getattr(i, "sop_class_uid", "")):
            return False
    return any(i.image_position is not None and i.image_orientation is not None
               for i in instances)


def load_series(
    entry: Any,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
    order: str = "instance",
) -> Volume | ImageSeries:
    """A :class:`Volume` (largest one) when the series' geometry allows MPR, else an
    :class:`ImageSeries` (projection, cine, colour, images without Image Position/
    Orientation). A series that looked like a volume but cannot be assembled (e.g.
    multi-frame without per-frame positions) is shown as 2-D, with the reason in its
    warnings."""
    reason = ""
    if volume_possible(entry):
        from viewer.dicom.assemble import AssembleCancelled, AssembleError, assemble

        try:
            volumes = assemble(entry, progress, cancel)
        except AssembleCancelled:
            raise
        except AssembleError as exc:
            reason = str(exc)
        except Exception as exc:  # an assembly bug must not hide the images: show them 2-D
            logger.warning("volume assembly failed (%s); showing 2-D images",
                           type(exc).__name__, exc_info=True)
            reason = f"assembly failed ({type(exc).__name__})"
        else:
            if len(volumes) == 1 or any(v.dims[2] > 1 for v in volumes):
                return volumes[0]
            # every frame its own plane (localizers, single-slice frames): a stack of images
            reason = f"{len(volumes)} frames in different planes"
        logger.debug("series shown as 2-D images: %s", reason)
    series = ImageSeries.from_entry(entry, order)
    if reason:
        series.warnings.append(f"not a volume: {reason}")
    return series
