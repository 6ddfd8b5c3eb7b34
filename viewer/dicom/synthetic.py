"""Write synthetic DICOM series with exactly known geometry and values (tests, demo, benchmarks).

Everything a loader can get wrong can be produced on purpose: any Image
Orientation/Position (double-oblique, gantry tilt as real scanners encode it:
a tilted column vector with IPPs moving along the table), per-slice rescale,
missing slices, shuffled file names, instance numbers opposite to position,
classic single-frame or enhanced multi-frame objects (PS3.3 C.7.6.16, frames
optionally stored in reverse order), and any transfer syntax pydicom 3 can
encode (RLE, JPEG-LS lossless / near-lossless through pyjpegls, JPEG 2000
lossless / lossy through pylibjpeg-openjpeg, deflate, big endian).

Voxel values are given in modality units (e.g. HU) as an array shaped
``(slices, rows, columns)``; they are stored as ``round((v - intercept) /
slope)``, so :func:`quantize` tells the exact values a correct reader returns.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    JPEG2000,
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
    generate_uid,
)

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.1"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4.1"

#: Transfer syntaxes this module can write (pydicom 3.0.2 encoders available here).
WRITABLE_SYNTAXES: tuple[str, ...] = (
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    RLELossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
)
LOSSLESS_COMPRESSED: tuple[str, ...] = (RLELossless, JPEGLSLossless, JPEG2000Lossless)
LOSSY_SYNTAXES: tuple[str, ...] = (JPEGLSNearLossless, JPEG2000)


@dataclass
class SeriesSpec:
    """How to write a series; every field has a plain default (axial CT, 1 mm grid)."""

    iop: Sequence[float] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    origin: Sequence[float] = (0.0, 0.0, 0.0)
    pixel_spacing: Sequence[float] = (1.0, 1.0)  # (row spacing, column spacing), PS3.3 10.7.1.3
    step: Sequence[float] | None = None  # IPP step between slices; default normal * slice_spacing
    slice_spacing: float = 1.0
    positions: np.ndarray | None = None  # explicit IPP per slice (n, 3); overrides origin/step
    rescale: tuple[float, float] | Sequence[tuple[float, float]] = (1.0, -1024.0)
    signed: bool | None = None  # stored as signed; default: when a stored value is negative
    bits_stored: int | None = None  # default: smallest of 12/16 that holds the stored values
    modality: str = "CT"
    enhanced: bool = False
    reverse_frames: bool = False  # enhanced: store frames last position first
    instance_order: str = "position"  # "position", "reverse" or "shuffle"
    shuffle_names: bool = False
    drop: Sequence[int] = ()  # slice indices not written (missing slices)
    transfer_syntax: str = ExplicitVRLittleEndian
    jls_error: int = 2  # near-lossless JPEG-LS: maximum error
    j2k_cr: Sequence[float] = (10.0,)  # lossy JPEG 2000 compression ratio
    window: tuple[float, float] | None = (40.0, 400.0)
    series_uid: str | None = None
    study_uid: str | None = None
    frame_of_reference_uid: str | None = None
    patient_name: str = "SYNTHETIC^PHANTOM"
    patient_id: str = "SYN0001"
    study_description: str = "Synthetic study"
    series_description: str = "Synthetic series"
    series_number: int = 1
    seed: int = 0
    value_range: tuple[float, float] | None = None  # known min/max of values: skips a pass
    gantry_tilt_tag: float | None = None  # (0018,1120) as a vendor would write it
    extra: dict[str, object] = field(default_factory=dict)  # keyword -> value on every dataset


def normal_of(iop: Sequence[float]) -> np.ndarray:
    """Slice normal = row x column direction cosines (PS3.3 C.7.6.2.1.1)."""
    row, col = np.asarray(iop[:3], dtype=float), np.asarray(iop[3:], dtype=float)
    n = np.cross(row, col)
    return n / np.linalg.norm(n)


def tilted_axial(tilt_degrees: float) -> tuple[tuple[float, ...], np.ndarray]:
    """IOP and unit IPP step of an axial CT acquired with gantry tilt, as scanners write it.

    The column vector leans by the tilt, (0, cos t, -sin t), while the table
    (and so IPP) moves along +z: the stack is sheared by ``tilt_degrees``.
    """
    t = np.radians(tilt_degrees)
    iop = (1.0, 0.0, 0.0, 0.0, float(np.cos(t)), float(-np.sin(t)))
    return iop, np.array([0.0, 0.0, 1.0])


def oblique_iop(angles_degrees: Sequence[float]) -> tuple[float, ...]:
    """IOP of an axial plane rotated about x, y, then z by the given angles (double-oblique)."""
    ax, ay, az = np.radians(np.asarray(angles_degrees, dtype=float))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    r = rz @ ry @ rx
    return (*[float(v) for v in r[:, 0]], *[float(v) for v in r[:, 1]])


def slice_positions(spec: SeriesSpec, n: int) -> np.ndarray:
    """IPP of each of the ``n`` slices described by ``spec`` (before dropping any)."""
    if spec.positions is not None:
        pos = np.asarray(spec.positions, dtype=float).reshape(-1, 3)
        if len(pos) != n:
            raise ValueError(f"{len(pos)} positions for {n} slices")
        return pos
    step = (
        np.asarray(spec.step, dtype=float)
        if spec.step is not None
        else normal_of(spec.iop) * spec.slice_spacing
    )
    return np.asarray(spec.origin, dtype=float) + np.outer(np.arange(n), step)


def _rescales(spec: SeriesSpec, n: int) -> list[tuple[float, float]]:
    r = spec.rescale
    if len(r) == 2 and not isinstance(r[0], (tuple, list)):
        return [(float(r[0]), float(r[1]))] * n  # type: ignore[arg-type]
    out = [(float(s), float(i)) for s, i in r]  # type: ignore[misc]
    if len(out) != n:
        raise ValueError(f"{len(out)} rescale pairs for {n} slices")
    return out


def stored_values(values: np.ndarray, rescales: Sequence[tuple[float, float]]) -> np.ndarray:
    """Stored values, ``round((v - intercept) / slope)`` per slice, as int64."""
    out = np.empty(values.shape, dtype=np.int64)
    for k, (slope, intercept) in enumerate(rescales):
        out[k] = np.rint((np.asarray(values[k], dtype=np.float64) - intercept) / slope)
    return out


def quantize(values: np.ndarray, rescales: Sequence[tuple[float, float]]) -> np.ndarray:
    """The modality values a correct reader returns for ``values`` written with ``rescales``."""
    stored = stored_values(values, rescales)
    out = np.empty(values.shape, dtype=np.float64)
    for k, (slope, intercept) in enumerate(rescales):
        out[k] = stored[k] * slope + intercept
    return out


class _StoredSlices:
    """Stored values of each slice, computed when asked (keeps big series out of memory)."""

    def __init__(self, values: Any, rescales: list[tuple[float, float]], dtype: np.dtype) -> None:
        self.values, self.rescales, self.dtype = values, rescales, dtype

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, k: int) -> np.ndarray:
        slope, intercept = self.rescales[k]
        v = np.asarray(self.values[k], dtype=np.float64)
        return np.rint((v - intercept) / slope).astype(self.dtype)

    def stack(self, order: Sequence[int]) -> np.ndarray:
        return np.stack([self[k] for k in order])


def _stored_extent(
    values: Any, rescales: list[tuple[float, float]], spec: SeriesSpec
) -> tuple[int, int]:
    """Smallest and largest stored value (from ``spec.value_range`` or a pass over the slices)."""
    lo, hi = None, None
    for k, (slope, intercept) in enumerate(rescales):
        if spec.value_range is not None:
            vmin, vmax = spec.value_range
        else:
            v = np.asarray(values[k])
            vmin, vmax = float(v.min()), float(v.max())
        a = round((vmin - intercept) / slope)
        b = round((vmax - intercept) / slope)
        a, b = min(a, b), max(a, b)
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    return int(lo or 0), int(hi or 0)


def _pixel_format(lo: int, hi: int, spec: SeriesSpec) -> tuple[np.dtype, int, bool]:
    signed = spec.signed if spec.signed is not None else lo < 0
    if spec.bits_stored:
        bits = spec.bits_stored
    elif signed:
        bits = 12 if lo >= -2048 and hi <= 2047 else 16
    else:
        bits = 12 if hi <= 4095 else 16
    limit_lo, limit_hi = (
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    )
    if lo < limit_lo or hi > limit_hi:
        raise ValueError(f"stored values {lo}..{hi} do not fit {bits} bits (signed={signed})")
    return np.dtype(np.int16 if signed else np.uint16), bits, signed


def _now() -> tuple[str, str]:
    t = _dt.datetime(2026, 11, 23, 9, 30, 0)
    return t.strftime("%Y%m%d"), t.strftime("%H%M%S")


def _base_dataset(spec: SeriesSpec, sop_class: str, uids: dict[str, str]) -> Dataset:
    """Patient/study/series/equipment modules shared by every instance (PS3.3 A.3, A.4)."""
    date, time = _now()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = time
    ds.AccessionNumber = "SYN-ACC-1"
    ds.Modality = spec.modality
    ds.Manufacturer = "Regard synthetic"
    ds.ManufacturerModelName = "synthetic.py"
    ds.InstitutionName = "Regard test site"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = spec.study_description
    ds.SeriesDescription = spec.series_description
    ds.PatientName = spec.patient_name
    ds.PatientID = spec.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.PatientPosition = "HFS"
    ds.BodyPartExamined = "CHEST" if spec.modality == "CT" else "HEAD"
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.FrameOfReferenceUID = uids["for"]
    ds.PositionReferenceIndicator = ""
    ds.StudyID = "1"
    ds.SeriesNumber = spec.series_number
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    if spec.modality == "CT":
        ds.KVP = "120"
        ds.ConvolutionKernel = "STANDARD"
        if spec.gantry_tilt_tag is not None:
            ds.GantryDetectorTilt = spec.gantry_tilt_tag
    else:
        ds.MagneticFieldStrength = "1.5"
        ds.EchoTime = "10"
        ds.RepetitionTime = "500"
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.MRAcquisitionType = "2D"
    for key, value in spec.extra.items():
        setattr(ds, key, value)
    return ds


def _file_meta(ds: Dataset, ts: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(ts)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "REGARD_SYNTH"
    return meta


def _encode_and_save(ds: Dataset, arr: np.ndarray, spec: SeriesSpec, path: Path) -> None:
    """Set Pixel Data in the requested transfer syntax and write a Part 10 file."""
    ts = spec.transfer_syntax
    native = ts in (ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian)
    if native or ts == ExplicitVRBigEndian:
        ds.file_meta = _file_meta(ds, ts)
        data = np.ascontiguousarray(arr)
        if ts == ExplicitVRBigEndian:
            data = data.astype(data.dtype.newbyteorder(">"))
        ds.PixelData = data.tobytes()
        ds["PixelData"].VR = "OW"
        ds.save_as(
            path,
            enforce_file_format=True,
            little_endian=ts != ExplicitVRBigEndian,
            implicit_vr=ts == ImplicitVRLittleEndian,
        )
        return
    ds.file_meta = _file_meta(ds, ExplicitVRLittleEndian)
    kwargs: dict[str, object] = {}
    if ts == JPEGLSNearLossless:
        kwargs["jls_error"] = spec.jls_error
    elif ts == JPEG2000:
        kwargs["j2k_cr"] = list(spec.j2k_cr)
    ds.compress(ts, np.ascontiguousarray(arr), generate_instance_uid=False, **kwargs)
    if ts in LOSSY_SYNTAXES:
        ds.LossyImageCompression = "01"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def write_series(
    folder: Path | str, values: Any, spec: SeriesSpec | None = None, **overrides: object
) -> list[Path]:
    """Write ``values`` (slices, rows, columns) in modality units as a DICOM series.

    ``values`` is an array or any sequence of 2-D slices (e.g. one that
    computes each slice when indexed, for series larger than memory).

    ``spec`` (or keyword overrides of :class:`SeriesSpec` fields) describes
    the geometry and encoding. Returns the written paths in slice (position)
    order, dropped slices excluded; file names follow ``shuffle_names``.
    """
    spec = spec or SeriesSpec()
    for key, value in overrides.items():
        if not hasattr(spec, key):
            raise TypeError(f"unknown series option {key!r}")
        setattr(spec, key, value)
    if isinstance(values, np.ndarray) and values.ndim != 3:
        raise ValueError("values must be (slices, rows, columns)")
    n = len(values)
    rows, cols = np.asarray(values[0]).shape
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    uids = {
        "study": spec.study_uid or generate_uid(),
        "series": spec.series_uid or generate_uid(),
        "for": spec.frame_of_reference_uid or generate_uid(),
    }
    if spec.transfer_syntax in (JPEG2000Lossless, JPEG2000) and min(rows, cols) < 32:
        raise ValueError(
            "JPEG 2000 encoding needs images of at least 32x32 pixels "
            "(openjpeg's 6 resolution levels)"
        )
    positions = slice_positions(spec, n)
    rescales = _rescales(spec, n)
    dtype, bits, signed = _pixel_format(*_stored_extent(values, rescales, spec), spec)
    stored = _StoredSlices(values, rescales, dtype)
    keep = [k for k in range(n) if k not in set(spec.drop)]
    fmt = {"BitsStored": bits, "HighBit": bits - 1, "PixelRepresentation": int(signed)}
    if spec.enhanced:
        return [
            _write_enhanced(folder, stored, positions, rescales, keep, spec, uids, fmt, rows, cols)
        ]
    return _write_classic(
        folder, stored, positions, rescales, keep, spec, uids, fmt, rows, cols, rng
    )


def _instance_numbers(count: int, order: str, rng: random.Random) -> list[int]:
    numbers = list(range(1, count + 1))
    if order == "reverse":
        numbers.reverse()
    elif order == "shuffle":
        rng.shuffle(numbers)
    elif order != "position":
        raise ValueError(f"instance_order must be position, reverse or shuffle, not {order!r}")
    return numbers


def _write_classic(
    folder: Path,
    stored: _StoredSlices,
    positions: np.ndarray,
    rescales: list[tuple[float, float]],
    keep: list[int],
    spec: SeriesSpec,
    uids: dict[str, str],
    fmt: dict[str, int],
    rows: int,
    cols: int,
    rng: random.Random,
) -> list[Path]:
    sop = CT_IMAGE if spec.modality == "CT" else MR_IMAGE
    numbers = _instance_numbers(len(keep), spec.instance_order, rng)
    names = [f"IM{n:05d}.dcm" for n in range(len(keep))]
    if spec.shuffle_names:
        rng.shuffle(names)
    normal = normal_of(spec.iop)
    paths = []
    for m, k in enumerate(keep):
        ds = _base_dataset(spec, sop, uids)
        ds.SOPInstanceUID = generate_uid()
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber = numbers[m]
        ds.AcquisitionNumber = 1
        ds.ImagePositionPatient = [_ds(v) for v in positions[k]]
        ds.ImageOrientationPatient = [_ds(v) for v in spec.iop]
        ds.SliceLocation = _ds(float(positions[k] @ normal))
        ds.SliceThickness = _ds(spec.slice_spacing)
        ds.PixelSpacing = [_ds(v) for v in spec.pixel_spacing]
        ds.Rows, ds.Columns = rows, cols
        for key, value in fmt.items():
            setattr(ds, key, value)
        ds.RescaleSlope = _ds(rescales[k][0])
        ds.RescaleIntercept = _ds(rescales[k][1])
        ds.RescaleType = "HU" if spec.modality == "CT" else "US"
        if spec.window is not None:
            ds.WindowCenter, ds.WindowWidth = _ds(spec.window[0]), _ds(spec.window[1])
        path = folder / names[m]
        _encode_and_save(ds, stored[k], spec, path)
        paths.append(path)
    return paths


def _item(**kwargs: object) -> Dataset:
    ds = Dataset()
    for key, value in kwargs.items():
        setattr(ds, key, value)
    return ds


def _write_enhanced(
    folder: Path,
    stored: _StoredSlices,
    positions: np.ndarray,
    rescales: list[tuple[float, float]],
    keep: list[int],
    spec: SeriesSpec,
    uids: dict[str, str],
    fmt: dict[str, int],
    rows: int,
    cols: int,
) -> Path:
    """One Enhanced CT/MR object; geometry and rescale in functional groups (PS3.3 C.7.6.16)."""
    sop = ENHANCED_CT_IMAGE if spec.modality == "CT" else ENHANCED_MR_IMAGE
    ds = _base_dataset(spec, sop, uids)
    ds.SOPInstanceUID = generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.InstanceNumber = 1
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.Rows, ds.Columns = rows, cols
    for key, value in fmt.items():
        setattr(ds, key, value)
    order = list(reversed(keep)) if spec.reverse_frames else list(keep)
    ds.NumberOfFrames = len(order)
    dim_uid = generate_uid()
    ds.DimensionOrganizationSequence = DicomSequence([_item(DimensionOrganizationUID=dim_uid)])
    ds.DimensionIndexSequence = DicomSequence(
        [
            _item(
                DimensionOrganizationUID=dim_uid,
                DimensionIndexPointer=0x00209056,
                FunctionalGroupPointer=0x00209111,
                DimensionDescriptionLabel="Stack ID",
            ),
            _item(
                DimensionOrganizationUID=dim_uid,
                DimensionIndexPointer=0x00209057,
                FunctionalGroupPointer=0x00209111,
                DimensionDescriptionLabel="In-Stack Position Number",
            ),
        ]
    )
    shared = Dataset()
    shared.PixelMeasuresSequence = DicomSequence(
        [
            _item(
                PixelSpacing=[_ds(v) for v in spec.pixel_spacing],
                SliceThickness=_ds(spec.slice_spacing),
            )
        ]
    )
    shared.PlaneOrientationSequence = DicomSequence(
        [_item(ImageOrientationPatient=[_ds(v) for v in spec.iop])]
    )
    if spec.window is not None:
        shared.FrameVOILUTSequence = DicomSequence(
            [_item(WindowCenter=_ds(spec.window[0]), WindowWidth=_ds(spec.window[1]))]
        )
    frame_type = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    if spec.modality == "CT":
        shared.CTImageFrameTypeSequence = DicomSequence([_item(FrameType=frame_type)])
    else:
        shared.MRImageFrameTypeSequence = DicomSequence(
            [_item(FrameType=frame_type, ComplexImageComponent="MAGNITUDE")]
        )
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frames = []
    rank = {k: n + 1 for n, k in enumerate(sorted(keep))}
    for k in order:
        item = Dataset()
        item.FrameContentSequence = DicomSequence(
            [_item(StackID="1", InStackPositionNumber=rank[k], DimensionIndexValues=[1, rank[k]])]
        )
        item.PlanePositionSequence = DicomSequence(
            [_item(ImagePositionPatient=[_ds(v) for v in positions[k]])]
        )
        item.PixelValueTransformationSequence = DicomSequence(
            [
                _item(
                    RescaleSlope=_ds(rescales[k][0]),
                    RescaleIntercept=_ds(rescales[k][1]),
                    RescaleType="HU" if spec.modality == "CT" else "US",
                )
            ]
        )
        per_frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frames)
    path = folder / "ENHANCED.dcm"
    _encode_and_save(ds, stored.stack(order), spec, path)
    return path


def _ds(value: float) -> str:
    """A DS string (at most 16 characters, PS3.5 6.2) of a float."""
    v = float(value)
    if v == 0:
        return "0"
    for digits in range(12, 4, -1):
        text = f"{v:.{digits}g}"
        if len(text) <= 16:
            return text
    return f"{v:.6g}"
