"""Assemble a series into :class:`~viewer.dicom.volume.Volume` objects for MPR.

Rules applied (PS3.3 C.7.6.2.1.1 Image Plane module, C.7.6.16 multi-frame
functional groups):

* every frame of every file becomes a *frame record* with its Image Position
  (Patient) (IPP), Image Orientation (Patient) (IOP), Pixel Spacing and
  rescale. Enhanced objects take these from the Per-frame Functional Groups
  Sequence, falling back to the Shared Functional Groups Sequence (C.7.6.16.2);
* records are split into volumes when they cannot share one voxel grid:
  frame of reference, size, orientation, pixel spacing, echo time, image type
  (magnitude / phase ...), stack; repeated positions (time points, label /
  control pairs) become one volume per repetition. Each volume says why in
  ``Volume.split_reason``;
* slices are sorted by the position of their IPP along the slice normal
  (row x column of IOP), never by Instance Number or file name;
* the k axis is the vector between consecutive IPPs, so a gantry-tilted
  stack keeps its exact sheared geometry (the tilt is measured from IOP/IPP,
  never from Gantry/Detector Tilt (0018,1120) whose sign differs by vendor);
* spacing that varies by more than 1 % is reported ("non-uniform spacing",
  and "missing slice" when a gap is a multiple of the usual one); every slice
  stays where it is in ``Volume.slice_positions``;
* voxels are in modality units (PS3.3 C.11.1: stored x slope + intercept per
  frame, or the frame's Modality LUT Sequence when it has one), int16 when
  every rescale is integral and the values fit, float32 otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from viewer.dicom import codecs, parallel
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume

logger = logging.getLogger(__name__)

# Tolerances (mm, degrees, ratios) used when comparing header values.
IOP_TOLERANCE = 1e-3  # direction cosines that differ less than this are "the same"
SPACING_RELATIVE_TOLERANCE = 1e-3
SAME_POSITION_MM = 0.01
TILT_WARNING_DEGREES = 0.5
GAP_RELATIVE_TOLERANCE = 0.01
PARALLEL_MIN_FILES = 8  # fewer compressed files than this are decoded in-process

_NATIVE_LE = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
_LOSSY_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.4.100",
        "1.2.840.10008.1.2.4.101",
        "1.2.840.10008.1.2.4.102",
        "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.104",
        "1.2.840.10008.1.2.4.105",
        "1.2.840.10008.1.2.4.106",
        "1.2.840.10008.1.2.4.107",
        "1.2.840.10008.1.2.4.108",
        "1.2.840.10008.1.2.4.111",
        "1.2.840.10008.1.2.4.112",
    }
)

ProgressCallback = Callable[[int, int], None]
CancelToken = Any  # threading.Event-like (``is_set()``) or a callable returning bool


class AssembleError(ValueError):
    """The files cannot form a volume; the message says which and why."""


class AssembleCancelled(Exception):
    """Assembly was cancelled through the ``cancel`` token."""


@dataclass
class FrameRecord:
    """One 2-D frame of a file with everything assembly needs from its header."""

    path: Path
    frame: int  # index of the frame in its file (0 for single-frame files)
    n_frames: int
    ipp: np.ndarray
    iop: np.ndarray
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing) as in (0028,0030)
    rows: int
    columns: int
    slope: float
    intercept: float
    frame_of_reference: str
    echo_time: float | None
    image_kind: str  # magnitude / phase / ... from Image Type or Frame Type
    stack_id: str
    order_key: tuple[Any, ...]  # orders repeated acquisitions at one position
    transfer_syntax: str
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    samples_per_pixel: int
    photometric: str
    lossy: bool
    modality: str
    series_uid: str
    window: tuple[float, float] | None
    rescale_type: str
    slice_thickness: float | None
    meta: dict[str, str] = field(default_factory=dict)
    # (first stored value mapped, table) of a Modality LUT Sequence (PS3.3 C.11.1.1);
    # when set it replaces slope/intercept
    modality_lut: tuple[int, np.ndarray] | None = None

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(self.iop[:3], self.iop[3:])
        return n / np.linalg.norm(n)


# ---------------------------------------------------------------------------
# Header reading


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return value[0] if len(value) else None
    return value


def _float(value: Any, default: float | None = None) -> float | None:
    value = _first(value)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _group_item(per: Dataset | None, shared: Dataset | None, keyword: str) -> Dataset | None:
    """Item of a functional group macro, per-frame first then shared (PS3.3 C.7.6.16)."""
    for container in (per, shared):
        if container is not None and keyword in container:
            seq = container[keyword].value
            if seq:
                return seq[0]
    return None


def _image_kind(image_type: Sequence[str] | None, complex_component: str | None) -> str:
    """Magnitude / phase / real / imaginary / other, from the frame's type values."""
    if complex_component:
        return str(complex_component).upper()
    values = [str(v).upper() for v in (image_type or [])]
    tail = values[2:]
    for code, name in (("P", "PHASE"), ("M", "MAGNITUDE"), ("R", "REAL"), ("I", "IMAGINARY")):
        if code in tail:
            return name
    for name in ("PHASE", "MAGNITUDE", "REAL", "IMAGINARY", "FIELD_MAP", "B0 MAP"):
        if name in tail or any(name in v for v in tail):
            return name
    return ""


def _window(ds: Dataset | None) -> tuple[float, float] | None:
    if ds is None:
        return None
    c = _float(ds.get("WindowCenter"))
    w = _float(ds.get("WindowWidth"))
    if c is None or w is None:
        return None
    return (c, w)


def _lossy(ds: Dataset, ts: str) -> bool:
    """Lossy Image Compression (0028,2110) = "01" or a lossy transfer syntax (PS3.3 C.7.6.1.1.5)."""
    return str(ds.get("LossyImageCompression", "")).strip() == "01" or ts in _LOSSY_SYNTAXES


def _common(ds: Dataset, path: Path) -> dict[str, Any]:
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    return {
        "path": path,
        "transfer_syntax": ts,
        "bits_allocated": int(ds.get("BitsAllocated", 16)),
        "bits_stored": int(ds.get("BitsStored", ds.get("BitsAllocated", 16))),
        "pixel_representation": int(ds.get("PixelRepresentation", 0)),
        "samples_per_pixel": int(ds.get("SamplesPerPixel", 1)),
        "photometric": str(ds.get("PhotometricInterpretation", "MONOCHROME2")),
        "lossy": _lossy(ds, ts),
        "modality": str(ds.get("Modality", "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "frame_of_reference": str(ds.get("FrameOfReferenceUID", "")),
        "meta": {
            "study_description": str(ds.get("StudyDescription", "")),
            "series_description": str(ds.get("SeriesDescription", "")),
            "series_number": str(ds.get("SeriesNumber", "")),
            "study_uid": str(ds.get("StudyInstanceUID", "")),
        },
    }


def _classic_records(ds: Dataset, path: Path) -> list[FrameRecord]:
    """One record for a single-frame image (PS3.3 C.7.6.2 Image Plane module)."""
    if "ImagePositionPatient" not in ds or "ImageOrientationPatient" not in ds:
        raise AssembleError(f"{path}: no Image Position/Orientation (Patient); not a volume slice")
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing") or [1.0, 1.0]
    common = _common(ds, path)
    slope = _float(ds.get("RescaleSlope"), 1.0) or 1.0
    intercept = _float(ds.get("RescaleIntercept"), 0.0) or 0.0
    lut = _modality_lut(ds, path)
    rescale_type = str(ds.get("RescaleType", "HU" if common["modality"] == "CT" else ""))
    if lut is not None:
        slope, intercept = 1.0, 0.0
        rescale_type = str(ds.ModalityLUTSequence[0].get("ModalityLUTType", "") or "")
    order = (
        _float(ds.get("TemporalPositionIdentifier"), 0.0),
        _float(ds.get("TriggerTime"), 0.0),
        str(ds.get("AcquisitionTime", "")),
        _float(ds.get("InstanceNumber"), 0.0),
        str(path),
    )
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    if n_frames > 1:
        raise AssembleError(
            f"{path}: multi-frame object without per-frame positions "
            "(no Per-frame Functional Groups); cannot place its frames in space"
        )
    return [
        FrameRecord(
            frame=0,
            n_frames=1,
            ipp=np.asarray([float(v) for v in ds.ImagePositionPatient], dtype=float),
            iop=np.asarray([float(v) for v in ds.ImageOrientationPatient], dtype=float),
            pixel_spacing=(float(spacing[0]), float(spacing[1])),
            slope=slope,
            intercept=intercept,
            echo_time=_float(ds.get("EchoTime")),
            image_kind=_image_kind(ds.get("ImageType"), None),
            stack_id="",
            order_key=order,
            window=_window(ds),
            rescale_type=rescale_type,
            slice_thickness=_float(ds.get("SliceThickness")),
            modality_lut=lut,
            **common,
        )
    ]


def _modality_lut(ds: Dataset, path: Path) -> tuple[int, np.ndarray] | None:
    """(first stored value mapped, table) of the Modality LUT Sequence, PS3.3 C.11.1.1.

    The LUT wins over Rescale Slope/Intercept when both are present (as
    :func:`viewer.dicom.pixels.modality_lut` and DCMTK do). The table is read
    with pydicom's :func:`~pydicom.pixels.apply_modality_lut` over every input
    it maps; the first value mapped is signed for signed pixels.
    """
    seq = ds.get("ModalityLUTSequence")
    if not seq:
        return None
    from pydicom.pixels import apply_modality_lut

    try:
        desc = [int(v) for v in seq[0].LUTDescriptor]
        entries, first = desc[0] or 65536, desc[1]
        if int(ds.get("PixelRepresentation", 0) or 0) and first >= 32768:
            first -= 65536
        table = np.asarray(apply_modality_lut(np.arange(first, first + entries), ds))
    except Exception as exc:  # a broken LUT names its file
        raise AssembleError(f"{path}: unusable Modality LUT Sequence ({exc})") from exc
    return first, table


def _enhanced_records(ds: Dataset, path: Path) -> list[FrameRecord]:
    """One record per frame of an enhanced multi-frame object (PS3.3 C.7.6.16)."""
    common = _common(ds, path)
    shared = (
        ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else None
    )
    per_frames = ds.get("PerFrameFunctionalGroupsSequence") or []
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    if len(per_frames) not in (0, n_frames):
        raise AssembleError(
            f"{path}: {len(per_frames)} per-frame functional group items for {n_frames} frames"
        )
    records = []
    for f in range(n_frames):
        per = per_frames[f] if per_frames else None
        pos = _group_item(per, shared, "PlanePositionSequence")
        ori = _group_item(per, shared, "PlaneOrientationSequence")
        if pos is None or ori is None or "ImagePositionPatient" not in pos:
            raise AssembleError(f"{path}: frame {f + 1} has no Plane Position/Orientation")
        meas = _group_item(per, shared, "PixelMeasuresSequence")
        pvt = _group_item(per, shared, "PixelValueTransformationSequence")
        content = _group_item(per, None, "FrameContentSequence")
        echo = _group_item(per, shared, "MREchoSequence")
        ftype = None
        for kw in ("MRImageFrameTypeSequence", "CTImageFrameTypeSequence", "FrameTypeSequence"):
            ftype = ftype or _group_item(per, shared, kw)
        voi = _group_item(per, shared, "FrameVOILUTSequence")
        spacing = (meas.get("PixelSpacing") if meas is not None else None) or [1.0, 1.0]
        slope = _float(pvt.get("RescaleSlope"), 1.0) if pvt is not None else 1.0
        intercept = _float(pvt.get("RescaleIntercept"), 0.0) if pvt is not None else 0.0
        raw_dims = content.get("DimensionIndexValues") if content is not None else None
        # one dimension: pydicom gives a single int (VM 1), not a list
        dims = () if raw_dims is None else (
            (raw_dims,) if isinstance(raw_dims, int) else tuple(raw_dims))
        order = (
            _float(content.get("TemporalPositionIndex"), 0.0) if content is not None else 0.0,
            tuple(int(v) for v in (dims if isinstance(dims, tuple) else (dims,))),
            f,
        )
        rescale_type = str(pvt.get("RescaleType", "")) if pvt is not None else ""
        if not rescale_type and common["modality"] == "CT":
            rescale_type = "HU"
        records.append(
            FrameRecord(
                frame=f,
                n_frames=n_frames,
                ipp=np.asarray([float(v) for v in pos.ImagePositionPatient], dtype=float),
                iop=np.asarray([float(v) for v in ori.ImageOrientationPatient], dtype=float),
                pixel_spacing=(float(spacing[0]), float(spacing[1])),
                slope=slope if slope is not None else 1.0,
                intercept=intercept if intercept is not None else 0.0,
                echo_time=_float(echo.get("EffectiveEchoTime")) if echo is not None else None,
                image_kind=_image_kind(
                    ftype.get("FrameType") if ftype is not None else None,
                    ftype.get("ComplexImageComponent") if ftype is not None else None,
                ),
                stack_id=str(content.get("StackID", "")) if content is not None else "",
                order_key=order,
                window=_window(voi) or _window(ds),
                rescale_type=rescale_type,
                slice_thickness=_float(meas.get("SliceThickness")) if meas is not None else None,
                **common,
            )
        )
    return records


@dataclass
class _FileHeader:
    records: list[FrameRecord]
    pixel_offset: int | None  # byte offset of native, defined-length Pixel Data value
    pixel_length: int | None
    coded_offset: int | None = None  # byte offset of an encapsulated Pixel Data value


def read_header(path: Path | str) -> _FileHeader:
    """Read one file's header (not its pixels) into frame records.

    Raises :class:`AssembleError` naming the file when it is not an image
    that can be placed in a volume.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fp:
            ds = pydicom.dcmread(fp, stop_before_pixels=True)
            offset, length, coded = _pixel_value_position(fp, ds)
    except (OSError, pydicom.errors.InvalidDicomError) as exc:
        raise AssembleError(f"{path}: not readable as DICOM ({exc})") from exc
    if "Rows" not in ds or "Columns" not in ds:
        raise AssembleError(f"{path}: no image (no Rows/Columns)")
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        records = _enhanced_records(ds, path)
    else:
        records = _classic_records(ds, path)
    return _FileHeader(records, offset, length, coded)


def _pixel_value_position(fp: Any, ds: Dataset) -> tuple[int | None, int | None, int | None]:
    """(offset, length) of a native little-endian Pixel Data value, and the offset of an
    encapsulated one (PS3.5 7.1, A.4: explicit VR OB, undefined length); None when not so."""
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    start = fp.tell()
    head = fp.read(12)
    if len(head) < 8 or head[:4] != b"\xe0\x7f\x10\x00":
        return None, None, None
    if ts not in _NATIVE_LE:
        # OW happens too (non-conformant writers); pydicom reads it the same way
        encapsulated = head[4:6] in (b"OB", b"OW") and head[8:12] == b"\xff" * 4
        if ts in codecs.GIL_BOUND_SYNTAXES and encapsulated:
            return None, None, start + 12
        return None, None, None
    if ts == _NATIVE_LE[1] and head[4:6] in (b"OW", b"OB"):
        length = int.from_bytes(head[8:12], "little")
        value = start + 12
    else:
        length = int.from_bytes(head[4:8], "little")
        value = start + 8
    if length == 0xFFFFFFFF:
        return None, None, None
    return value, length, None


# ---------------------------------------------------------------------------
# Grouping, sorting and geometry


_SPLIT_FIELDS = (
    ("frame of reference", "frame_of_reference"),
    ("size", "size"),
    ("orientation", "orientation"),
    ("pixel spacing", "pixel_spacing"),
    ("echo time", "echo_time"),
    ("image type", "image_kind"),
    ("stack", "stack_id"),
    ("pixel format", "pixel_format"),
)


def _key_values(r: FrameRecord) -> dict[str, Any]:
    return {
        "frame_of_reference": r.frame_of_reference,
        "size": f"{r.columns}x{r.rows}",
        "orientation": r.iop,
        "pixel_spacing": r.pixel_spacing,
        "echo_time": r.echo_time,
        "image_kind": r.image_kind,
        "stack_id": r.stack_id,
        "pixel_format": (r.samples_per_pixel, r.photometric, r.bits_allocated),
    }


def _same(name: str, a: Any, b: Any) -> bool:
    if name == "orientation":
        return bool(np.max(np.abs(a - b)) <= IOP_TOLERANCE)
    if name == "pixel_spacing":
        return all(
            abs(x - y) <= SPACING_RELATIVE_TOLERANCE * max(abs(x), 1e-6)
            for x, y in zip(a, b, strict=True)
        )
    if name == "echo_time" and a is not None and b is not None:
        return abs(a - b) <= 1e-3
    return bool(a == b)


def _describe(name: str, value: Any) -> str:
    if name == "orientation":
        return "IOP " + ",".join(f"{v:.3f}" for v in value)
    if name == "pixel_spacing":
        return f"{value[0]:g}x{value[1]:g} mm"
    if name == "echo_time":
        return "none" if value is None else f"{value:g} ms"
    return str(value) if value != "" else "none"


def _split_groups(records: list[FrameRecord]) -> list[tuple[list[FrameRecord], str]]:
    """Group records that can share a voxel grid; each group gets its split reason."""
    groups: list[tuple[dict[str, Any], list[FrameRecord]]] = []
    for r in records:
        kv = _key_values(r)
        for key, members in groups:
            if all(_same(n, key[n], kv[n]) for _, n in _SPLIT_FIELDS):
                members.append(r)
                break
        else:
            groups.append((kv, [r]))
    if len(groups) == 1:
        return [(groups[0][1], "")]
    varying = [
        (label, n)
        for label, n in _SPLIT_FIELDS
        if any(not _same(n, groups[0][0][n], g[0][n]) for g in groups[1:])
    ]
    out = []
    for key, members in groups:
        reason = "split by " + ", ".join(f"{label} {_describe(n, key[n])}" for label, n in varying)
        out.append((members, reason))
    return out


def _split_repeats(members: list[FrameRecord]) -> list[tuple[list[FrameRecord], str, list[str]]]:
    """Split records that repeat positions (time points, label/control) into one volume each.

    When most positions hold one frame and only a few hold more, the extra
    frames are duplicates (e.g. the same image stored twice): the first by
    acquisition order is kept and a warning says how many were ignored.
    """
    normal = members[0].normal
    ordered = sorted(members, key=lambda r: float(np.dot(r.ipp, normal)))
    positions: list[list[FrameRecord]] = []
    for r in ordered:
        if positions and np.linalg.norm(positions[-1][0].ipp - r.ipp) <= SAME_POSITION_MM:
            positions[-1].append(r)
        else:
            positions.append([r])
    for p in positions:
        p.sort(key=lambda r: r.order_key)
    repeats = max(len(p) for p in positions)
    if repeats == 1:
        return [(ordered, "", [])]
    repeated = sum(1 for p in positions if len(p) > 1)
    if repeated * 2 < len(positions):
        extra = sum(len(p) - 1 for p in positions)
        kept = [p[0] for p in positions]
        return [(kept, "", [f"{extra} duplicate slice(s) at the same position ignored"])]
    out = []
    for rank in range(repeats):
        vol = [p[rank] for p in positions if rank < len(p)]
        out.append((vol, f"repetition {rank + 1} of {repeats} at the same positions", []))
    return out


@dataclass
class _StackGeometry:
    geometry: Geometry
    positions: np.ndarray
    warnings: list[str]
    tilt_degrees: float
    gaps_normal: np.ndarray


def stack_geometry(records: list[FrameRecord]) -> _StackGeometry:
    """Geometry of records already sorted along the normal (PS3.3 C.7.6.2.1.1).

    The k axis is the unit vector from the first to the last IPP and the k
    spacing the mean distance between consecutive IPPs; for a uniform stack
    this is exactly the distance between any two neighbours.
    """
    first = records[0]
    row, col = (
        first.iop[:3] / np.linalg.norm(first.iop[:3]),
        first.iop[3:] / np.linalg.norm(first.iop[3:]),
    )
    normal = first.normal
    positions = np.stack([r.ipp for r in records])
    warnings: list[str] = []
    n = len(records)
    if n >= 2:
        span = positions[-1] - positions[0]
        k_dir = span / np.linalg.norm(span)
        steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
        k_spacing = float(np.linalg.norm(span) / (n - 1))
        gaps_normal = np.diff(positions @ normal)
    else:
        k_dir = normal
        steps = np.zeros(0)
        k_spacing = float(first.slice_thickness or 1.0)
        gaps_normal = np.zeros(0)
    tilt = float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(k_dir, normal)))))))
    if tilt > TILT_WARNING_DEGREES:
        warnings.append(f"gantry tilt {tilt:.1f} degrees")
    if n >= 3:
        steps = np.abs(gaps_normal) if tilt < 89.0 else steps
        usual = float(np.median(steps))
        if usual <= 0:
            raise AssembleError("slices at the same position could not be separated")
        off = np.abs(steps - usual) > GAP_RELATIVE_TOLERANCE * usual
        if np.any(off):
            warnings.append(
                f"non-uniform spacing: gaps from {steps.min():.3f} to {steps.max():.3f} mm "
                f"(usual {usual:.3f} mm)"
            )
            for m in np.nonzero(off)[0]:
                ratio = steps[m] / usual
                whole = round(ratio)
                if whole >= 2 and abs(ratio - whole) <= 0.1:
                    warnings.append(
                        f"missing slice: {whole - 1} slice(s) missing between slices {m} and "
                        f"{m + 1} (gap {steps[m]:.3f} mm, usual {usual:.3f} mm)"
                    )
        # slices that are not on one line (varying shear) are placed where they are
        if n >= 2:
            rel = positions - positions[0]
            off_line = np.linalg.norm(rel - np.outer(rel @ k_dir, k_dir), axis=1)
            if np.max(off_line) > 0.01 * max(usual, 1e-6) + 1e-3:
                warnings.append(
                    "slices are not on one line: each slice is placed at its own position"
                )
    ps_row, ps_col = first.pixel_spacing
    geometry = Geometry(
        dims=(first.columns, first.rows, n),
        spacing=(ps_col, ps_row, k_spacing),
        origin=positions[0],
        direction=np.stack([row, col, k_dir], axis=1),
    )
    return _StackGeometry(geometry, positions, warnings, tilt, gaps_normal)


# ---------------------------------------------------------------------------
# Pixels


def _stored_dtype(r: FrameRecord) -> np.dtype:
    if r.bits_allocated == 8:
        return np.dtype(np.int8 if r.pixel_representation else np.uint8)
    if r.bits_allocated == 32:
        return np.dtype(np.int32 if r.pixel_representation else np.uint32)
    return np.dtype("<i2" if r.pixel_representation else "<u2")


def _stored_range(r: FrameRecord) -> tuple[int, int]:
    bits = r.bits_stored
    if r.pixel_representation:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _fix_unused_bits(stored: np.ndarray, r: FrameRecord) -> np.ndarray:
    """Ignore bits above Bits Stored (PS3.5 8.1.1): mask, or sign-extend if signed."""
    if r.bits_stored >= r.bits_allocated or stored.dtype.kind not in "iu":
        return stored
    shift = r.bits_allocated - r.bits_stored
    if r.pixel_representation:
        return (stored << shift) >> shift
    return stored & np.array((1 << r.bits_stored) - 1, dtype=stored.dtype)


def _read_native(
    path: Path, offset: int, length: int, r: FrameRecord, frames: list[int]
) -> np.ndarray:
    """Stored values of some frames of a native little-endian file, read straight into numpy."""
    dtype = _stored_dtype(r)
    frame_bytes = r.rows * r.columns * dtype.itemsize
    if length < frame_bytes * r.n_frames:
        raise AssembleError(
            f"{path}: Pixel Data holds {length} bytes, {frame_bytes * r.n_frames} expected"
        )
    out = np.empty((len(frames), r.rows, r.columns), dtype=dtype)
    with open(path, "rb", buffering=0) as fp:
        for n, f in enumerate(frames):
            fp.seek(offset + f * frame_bytes)
            view = memoryview(out[n]).cast("B")
            if fp.readinto(view) != frame_bytes:
                raise AssembleError(f"{path}: truncated Pixel Data")
    return out


@dataclass(frozen=True)
class _CodedJob:
    """Frames of one compressed file for a worker, with what decoding needs from its header."""

    path: str
    frames: list[int]
    offset: int | None  # of the encapsulated Pixel Data value; None: read the dataset
    transfer_syntax: str
    options: dict[str, Any]  # pydicom pixel keywords (rows, columns, bits ...)


def _coded_job(path: Path, frames: list[int], h: _FileHeader) -> _CodedJob:
    r = h.records[0]
    options = {
        "rows": r.rows,
        "columns": r.columns,
        "number_of_frames": r.n_frames,
        "samples_per_pixel": r.samples_per_pixel,
        "bits_allocated": r.bits_allocated,
        "bits_stored": r.bits_stored,
        "pixel_representation": r.pixel_representation,
        "photometric_interpretation": r.photometric,
    }
    return _CodedJob(str(path), frames, h.coded_offset, r.transfer_syntax, options)


def _decode_encapsulated(job: _CodedJob) -> np.ndarray:
    """Frames straight from the encapsulated value with the header already read (no second
    parse of the dataset): the first plugin of :data:`codecs.PLUGIN_ORDER` available."""
    from pydicom.pixels.decoders.base import get_decoder

    plugin = codecs.available_plugins(job.transfer_syntax)[0]
    decoder = get_decoder(job.transfer_syntax)
    with open(job.path, "rb") as fp:
        fp.seek(job.offset or 0)
        value = fp.read()
    out = np.empty((len(job.frames), job.options["rows"], job.options["columns"]),
                   dtype=np.int16 if job.options["pixel_representation"] else np.uint16)
    for n, f in enumerate(job.frames):
        arr, _ = decoder.as_array(value, index=f, decoding_plugin=plugin, **job.options)
        if n == 0 and arr.dtype != out.dtype:
            out = out.astype(arr.dtype)
        out[n] = arr
    return out


def decode_coded(job: _CodedJob) -> np.ndarray:
    """Worker: stored values of some frames of a compressed file.

    From the encapsulated value when its offset is known; if that fails (or
    the offset is not known) through the whole decoder chain on the dataset,
    whose error names every plugin tried.
    """
    if job.offset is not None and job.options["samples_per_pixel"] == 1:
        try:
            return _decode_encapsulated(job)
        except Exception as exc:  # the dataset path below reports the real problem
            logger.debug("direct decoding failed (%s); decoding the dataset", exc)
    return decode_frames(job.path, job.frames)


def decode_frames(path: str, frames: list[int]) -> np.ndarray:
    """Stored values of some frames of any file through pydicom's decoders (worker function)."""
    try:
        from viewer.dicom import pixels as _pixels  # the shared decoder chain, when present

        read = getattr(_pixels, "read_frames", None)
    except ImportError:
        read = None
    if read is not None:
        arr = np.asarray(read(path))
        if arr.ndim == 2:
            arr = arr[None]
        return np.ascontiguousarray(arr[frames])
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if n == 1 or arr.ndim == 2:
        arr = arr.reshape((1, *arr.shape[-2:]))
    return np.ascontiguousarray(arr[frames])


class _Sink:
    """Writes stored frames into the volume array in modality units, upgrading dtype if needed."""

    def __init__(self, slots: list[FrameRecord]) -> None:
        self.slots = slots
        r0 = slots[0]
        shape = (len(slots), r0.rows, r0.columns)
        integral = all(
            float(r.slope).is_integer() and float(r.intercept).is_integer() for r in slots
        ) and all(_lut_fits_int16(r.modality_lut[1]) for r in slots if r.modality_lut)
        self.array = np.empty(shape, dtype=np.int16 if integral else np.float32)

    def _upgrade(self) -> None:
        logger.debug("values do not fit int16: volume stored as float32")
        self.array = self.array.astype(np.float32)

    def put(self, k: int, stored: np.ndarray) -> None:
        """Slice k = stored x slope + intercept of its own frame (PS3.3 C.11.1.1)."""
        r = self.slots[k]
        stored = _fix_unused_bits(stored, r)
        if r.modality_lut is not None:
            first, table = r.modality_lut
            index = np.clip(stored.astype(np.int64) - first, 0, len(table) - 1)
            np.copyto(self.array[k], table[index], casting="unsafe")
            return
        slope, intercept = r.slope, r.intercept
        dest = self.array
        if dest.dtype == np.int16:
            lo, hi = _stored_range(r)
            if slope < 0:
                lo, hi = hi, lo
            if (
                stored.dtype.itemsize <= 2
                and lo * slope + intercept >= -32768
                and hi * slope + intercept <= 32767
            ):
                # every possible stored value fits: no range check needed
                src = stored if stored.dtype == np.int16 or stored.dtype.itemsize == 1 else None
                if src is None:  # uint16 whose Bits Stored range fits int16
                    src = (
                        stored.view(np.int16)
                        if hi <= 32767 and lo >= 0
                        else stored.astype(np.int32)
                    )
                if slope == 1:
                    np.add(src, np.int16(intercept), out=dest[k], casting="unsafe")
                else:
                    np.copyto(
                        dest[k],
                        src.astype(np.int32) * int(slope) + int(intercept),
                        casting="unsafe",
                    )
                return
            values = stored.astype(np.int64) * int(slope) + int(intercept)
            if values.min() >= -32768 and values.max() <= 32767:
                np.copyto(dest[k], values, casting="unsafe")
                return
            self._upgrade()
            dest = self.array
        values = stored.astype(np.float64) * slope + intercept
        np.copyto(dest[k], values, casting="unsafe")


def _lut_fits_int16(table: np.ndarray) -> bool:
    """True when every entry of a Modality LUT is an integer that int16 holds."""
    if table.size == 0 or not np.issubdtype(table.dtype, np.integer):
        return False
    return bool(table.min() >= -32768 and table.max() <= 32767)


def _cancelled(cancel: CancelToken) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if is_set is not None else cancel())


def _worker_count() -> int:
    return parallel.default_workers()


def _load_pixels(
    slots: list[FrameRecord],
    headers: dict[Path, _FileHeader],
    progress: ProgressCallback | None,
    cancel: CancelToken,
    workers: int | None = None,
) -> np.ndarray:
    """Fill the volume: native files read directly, compressed ones decoded over processes."""
    sink = _Sink(slots)
    by_file: dict[Path, list[tuple[int, int]]] = {}
    for k, r in enumerate(slots):
        by_file.setdefault(r.path, []).append((k, r.frame))
    native, coded = [], []
    for path, items in by_file.items():
        h = headers[path]
        (native if h.pixel_offset is not None else coded).append((path, items))
    total, done = len(slots), 0

    def report(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for path, items in native:
        if _cancelled(cancel):
            raise AssembleCancelled()
        h = headers[path]
        ks = [k for k, _ in items]
        stored = _read_native(
            path, h.pixel_offset or 0, h.pixel_length or 0, slots[ks[0]], [f for _, f in items]
        )
        for n, k in enumerate(ks):
            sink.put(k, stored[n])
        report(len(ks))
    if coded:
        _decode_coded(coded, headers, sink, report, cancel, workers)
    return sink.array


# Decoding processes: the program's one pool (viewer.dicom.parallel, which
# decode_files uses too), reused from one series to the next.


def decoding_pool(workers: int) -> ProcessPoolExecutor:
    """The shared pool of decoding processes (:func:`viewer.dicom.parallel.pool`)."""
    return parallel.pool(workers)


def _drop_pool() -> None:
    parallel._discard_pool()


def shutdown_pool() -> None:
    """Stop the decoding processes (they start again when needed); waits for them to exit."""
    parallel.shutdown()


def _decode_many(jobs: list[_CodedJob]) -> list[np.ndarray | str]:
    """Worker: decode several files; a failure comes back as its message (always picklable)."""
    out: list[np.ndarray | str] = []
    for job in jobs:
        try:
            out.append(decode_coded(job))
        except Exception as exc:  # reported by the caller with the file name
            out.append(f"{type(exc).__name__}: {exc}")
    return out


def _use_processes(n_items: int, workers: int | None) -> int:
    n = workers or _worker_count()
    return n if n > 1 and n_items >= PARALLEL_MIN_FILES else 0


def _run_chunks(
    func: Callable[[Any], list[Any]], jobs: list[Any], n_workers: int, cancel: CancelToken
) -> Iterator[list[Any]]:
    """Yield ``func(job)`` for each job, in order.

    Jobs go to the shared worker pool, at most three per worker in flight (so
    results never pile up in memory). This process only collects: a job run
    here would hold the GIL for its whole length (the decoders do) and keep
    the pool's threads from feeding the workers and reading their results.
    Without workers, or once the pool breaks, jobs run here.
    """
    pool = None
    if n_workers:
        try:
            pool = decoding_pool(n_workers)
        except (RuntimeError, OSError) as exc:
            logger.warning("worker processes unavailable (%s); working in this process", exc)
    window = 3 * max(n_workers, 1)
    futures: dict[int, Future[list[Any]]] = {}
    submitted = 0
    try:
        for n, job in enumerate(jobs):
            while pool is not None and submitted < min(n + window + 1, len(jobs)):
                try:
                    futures[submitted] = pool.submit(func, jobs[submitted])
                except (BrokenProcessPool, RuntimeError) as exc:
                    logger.warning("worker processes failed (%s); working here", exc)
                    _drop_pool()
                    pool = None
                    break
                submitted += 1
            result = None
            fut = futures.pop(n, None)
            if fut is not None:
                result = _chunk_result(fut, cancel)
                if result is None:
                    pool = None
            if result is None:
                if _cancelled(cancel):
                    raise AssembleCancelled()
                result = func(job)
            yield result
    finally:
        for fut in futures.values():
            fut.cancel()


def _coded_chunks(
    coded: list[tuple[Path, list[tuple[int, int]]]], n_workers: int
) -> list[list[tuple[Path, list[tuple[int, int]]]]]:
    """Jobs of about the same number of frames: up to 4 files of one frame each, and the
    frames of a multi-frame file cut into at least four runs per worker."""
    total = sum(len(items) for _, items in coded)
    per_job = max(1, min(4, total // max(1, n_workers * 8)))
    runs: list[tuple[Path, list[tuple[int, int]]]] = []
    for path, items in coded:
        size = max(per_job, -(-len(items) // max(1, n_workers * 4)))
        runs += [(path, items[i : i + size]) for i in range(0, len(items), size)]
    chunks: list[list[tuple[Path, list[tuple[int, int]]]]] = []
    count = 0
    for run in runs:
        if not chunks or count + len(run[1]) > per_job:
            chunks.append([])
            count = 0
        chunks[-1].append(run)
        count += len(run[1])
    return chunks


def _decode_coded(
    coded: list[tuple[Path, list[tuple[int, int]]]],
    headers: dict[Path, _FileHeader],
    sink: _Sink,
    report: Callable[[int], None],
    cancel: CancelToken,
    workers: int | None,
) -> None:
    """Decode compressed files (over processes when worth it) into the sink, in order."""
    n_workers = _use_processes(sum(len(items) for _, items in coded), workers)
    chunks = _coded_chunks(coded, n_workers)
    jobs = [
        [_coded_job(p, [f for _, f in items], headers[p]) for p, items in chunk]
        for chunk in chunks
    ]
    with contextlib.closing(_run_chunks(_decode_many, jobs, n_workers, cancel)) as results:
        for chunk, decoded in zip(chunks, results, strict=False):
            for (path, items), stored in zip(chunk, decoded, strict=True):
                if isinstance(stored, str):
                    raise AssembleError(f"{path}: pixel data could not be decoded ({stored})")
                for m, (k, _) in enumerate(items):
                    sink.put(k, stored[m])
                report(len(items))


def _read_headers(paths: list[str]) -> list[_FileHeader | str]:
    """Worker: headers of several files; a file that is not usable comes back as its message."""
    out: list[_FileHeader | str] = []
    for p in paths:
        try:
            out.append(read_header(p))
        except AssembleError as exc:
            out.append(str(exc))
    return out


def _read_all_headers(
    paths: list[Path], workers: int | None, cancel: CancelToken
) -> tuple[dict[Path, _FileHeader], list[str]]:
    """Headers of every file, over the worker processes when they are cheap or needed anyway.

    Workers are used when the series is compressed (its pixels will need them),
    when they start instantly (fork) or when the pool already runs.
    """
    headers: dict[Path, _FileHeader] = {}
    rejected: list[str] = []
    first = _read_headers([str(paths[0])])[0]
    n_workers = _use_processes(len(paths), workers)
    compressed = isinstance(first, _FileHeader) and first.pixel_offset is None
    if not (compressed or parallel.start_method() == "fork" or parallel.running()):
        n_workers = 0
    rest = paths[1:]
    size = max(1, min(32, len(rest) // max(1, n_workers * 6)))
    chunks = [rest[i : i + size] for i in range(0, len(rest), size)]
    jobs = [[str(p) for p in chunk] for chunk in chunks]
    outcome = [(paths[0], first)]
    with contextlib.closing(_run_chunks(_read_headers, jobs, n_workers, cancel)) as results:
        for chunk, got in zip(chunks, results, strict=False):
            outcome.extend(zip(chunk, got, strict=True))
    for path, h in outcome:
        if isinstance(h, str):
            logger.debug("skipped: %s", h)
            rejected.append(h)
        else:
            headers[path] = h
    return headers, rejected


def _chunk_result(fut: Future[list[Any]], cancel: CancelToken) -> list[Any] | None:
    """A chunk's results; None when the pool broke (the caller then works itself)."""
    while True:
        if _cancelled(cancel):
            raise AssembleCancelled()
        try:
            return fut.result(timeout=0.1)
        except FutureTimeout:
            continue
        except BrokenProcessPool:
            logger.warning("a decoding process died; decoding the rest in this process")
            _drop_pool()
            return None


# ---------------------------------------------------------------------------
# Public entry point


def _paths_of(source: Any) -> list[Path]:
    """Paths of a series entry (``.instances[].path``), a folder, or a list of paths."""
    instances = getattr(source, "instances", None)
    if instances is not None:
        items = instances.values() if isinstance(instances, dict) else instances
        return [Path(getattr(i, "path", i)) for i in items]
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            return sorted(q for q in p.rglob("*") if q.is_file())
        return [p]
    return [Path(getattr(i, "path", i)) for i in source]


def assemble(
    source: Any,
    progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    *,
    workers: int | None = None,
) -> list[Volume]:
    """Build the volumes of one series.

    ``source`` is a series entry of :func:`viewer.dicom.index.scan` (anything
    with ``.instances`` whose items have ``.path``), a folder, or a list of
    file paths. Files that are not images (e.g. a Philips DIRFILE, SR) are
    skipped with a debug log; if nothing usable remains an
    :class:`AssembleError` names the reason. Volumes are returned largest
    first; when there are several, each one's ``split_reason`` says how it
    differs from the others. ``progress(done, total)`` is called as slices
    are loaded; ``cancel`` (``threading.Event`` or callable) stops early with
    :class:`AssembleCancelled`.
    """
    paths = _paths_of(source)
    if not paths:
        raise AssembleError("no files to assemble")
    if _cancelled(cancel):
        raise AssembleCancelled()
    headers, rejected = _read_all_headers(paths, workers, cancel)
    records = [r for h in headers.values() for r in h.records]
    if not records:
        detail = rejected[0] if rejected else "no image"
        raise AssembleError(f"no image frames to build a volume from ({detail})")
    for r in records:
        if r.samples_per_pixel != 1:
            raise AssembleError(
                f"{r.path}: colour images ({r.photometric}) are not assembled into volumes"
            )
    volumes: list[Volume] = []
    for group, reason in _split_groups(records):
        for members, repeat_reason, notes in _split_repeats(group):
            why = "; ".join(x for x in (reason, repeat_reason) if x)
            volume = _build(members, why, headers, progress, cancel, workers)
            volume.warnings.extend(notes)
            volumes.append(volume)
    volumes.sort(key=lambda v: -int(np.prod(v.dims)))
    if rejected:
        for v in volumes:
            v.warnings.append(f"{len(rejected)} file(s) skipped, e.g. {rejected[0]}")
    if len(volumes) > 1:
        for v in volumes:
            v.warnings.append(f"series split into {len(volumes)} volumes")
    return volumes


def _build(
    members: list[FrameRecord],
    reason: str,
    headers: dict[Path, _FileHeader],
    progress: ProgressCallback | None,
    cancel: CancelToken,
    workers: int | None,
) -> Volume:
    normal = members[0].normal
    ordered = sorted(members, key=lambda r: float(np.dot(r.ipp, normal)))
    geo = stack_geometry(ordered)
    array = _load_pixels(ordered, headers, progress, cancel, workers)
    warnings = list(geo.warnings)
    lossy = any(r.lossy for r in ordered)
    if lossy:
        warnings.append("lossy")
    rescales = {(r.slope, r.intercept) for r in ordered}
    if len(rescales) > 1:
        logger.debug("rescale varies between slices (%d values)", len(rescales))
    first = ordered[0]
    vol = Volume(
        array=array,
        geometry=geo.geometry,
        series_uid=first.series_uid,
        modality=first.modality,
        slice_positions=geo.positions,
        warnings=warnings,
        window=first.window,
        lossy=lossy,
        rescale_type=first.rescale_type,
        photometric=first.photometric,
        frame_of_reference_uid=first.frame_of_reference,  # one per volume (_split_groups)
        meta=dict(first.meta),
        split_reason=reason,
        tilt_degrees=geo.tilt_degrees,
        gaps_along_normal=geo.gaps_normal,
        source_files=[str(r.path) for r in ordered],
        source_frames=[r.frame for r in ordered],
    )
    return vol


def describe(volume: Volume) -> dict[str, Any]:
    """JSON-ready summary of a volume (the ``regard info --series`` contract)."""
    g = volume.geometry
    gaps = np.asarray(volume.gaps_along_normal if volume.gaps_along_normal is not None else [])
    out: dict[str, Any] = {
        "series_uid": volume.series_uid,
        "modality": volume.modality,
        "dims": [int(v) for v in g.dims],
        "spacing": [float(v) for v in g.spacing],
        "origin": [float(v) for v in g.origin],
        "direction": [[float(v) for v in row] for row in g.direction],
        "warnings": list(volume.warnings),
        "dtype": str(volume.array.dtype),
        "tilt_degrees": float(volume.tilt_degrees),
        "uniform": bool(volume.uniform),
        "slice_gaps_along_normal": [round(float(v), 4) for v in gaps],
        "orientation": {
            "i": _label(g.direction[:, 0]),
            "j": _label(g.direction[:, 1]),
            "k": _label(g.direction[:, 2]),
        },
        "lossy": bool(volume.lossy),
        "rescale_type": volume.rescale_type,
    }
    if volume.window is not None:
        out["window"] = {"center": volume.window[0], "width": volume.window[1]}
    if volume.split_reason:
        out["split"] = volume.split_reason
    if not math.isfinite(out["tilt_degrees"]):
        out["tilt_degrees"] = 0.0
    return out


def _label(v: np.ndarray) -> str:
    from viewer.dicom.geometry import orientation_label

    return orientation_label(v)
