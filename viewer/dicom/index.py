"""Index of DICOM files: Patient / Study / Series / Instance, read from headers only.

``scan(path)`` accepts a single file, a folder (walked recursively) or a
DICOMDIR (PS3.10 section 8, PS3.3 F.3: the files its directory records
reference). Pixel Data is never decoded here: each file is read with the pixel
value deferred, so only its position and length are known, which is enough
to check the size of native pixel data against the header (PS3.5 8.1.1).

Per-file problems never raise: a message ``"path: reason"`` goes to
``DicomIndex.errors`` and the other files are indexed. Files that are not DICOM
at all (README, PNG, JSON) are listed in ``DicomIndex.skipped``; DICOM objects
without pixels (SR, KOS, presentation states, PDF) go to ``DicomIndex.documents``
so other layers can find them; media directories (DICOMDIR, the Philips
``DIRFILE``) are only followed, never indexed as instances.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from viewer.dicom import codecs
from viewer.dicom.errors import DicomReadError

logger = logging.getLogger(__name__)

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
# PS3.3 C.7.6.3: Rows and Columns are US, at most 65535; we refuse frames whose
# decoded size would exceed this many bytes (a 60000x60000 header is ~7 GB a
# frame). Whole multi-frame files are checked against free memory at decode time.
MAX_FRAME_BYTES = 1024**3
MAX_DECODED_BYTES = MAX_FRAME_BYTES  # former name, kept for callers
# INS OIDs (STANDARDS.md): NIR, NIA (temporary), test, demonstration.
INS_OIDS = {
    "1.2.250.1.213.1.4.8": "INS-NIR",
    "1.2.250.1.213.1.4.9": "INS-NIA",
    "1.2.250.1.213.1.4.10": "INS-NIR-TEST",
    "1.2.250.1.213.1.4.11": "INS-NIR-DEMO",
}

Progress = Callable[[int, int], None]


@dataclass
class InstanceEntry:
    """One Part 10 file (an image, possibly multi-frame) as its header describes it."""

    path: Path
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    rows: int
    columns: int
    number_of_frames: int
    image_position: tuple[float, float, float] | None
    image_orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    lossy: bool
    photometric: str = ""
    samples_per_pixel: int = 1
    bits_allocated: int = 0
    study_uid: str = ""
    series_uid: str = ""
    modality: str = ""
    # what hanging protocols pick views by (viewer.hanging); None: not read (an entry not
    # made by scan), "" / ("", ""): absent from the header
    laterality: str | None = None  # Image Laterality (0020,0062), else Laterality (0020,0060)
    view_position: str | None = None  # View Position (0018,5101): CC, MLO, PA, LL ...
    patient_orientation: tuple[str, str] | None = None  # (0020,0020): row, column directions


@dataclass
class SeriesEntry:
    """A series: its instances in (Instance Number, path) order (geometry sorting is later)."""

    series_uid: str
    study_uid: str
    modality: str
    description: str
    number: int | None
    frame_of_reference_uid: str
    instances: list[InstanceEntry] = field(default_factory=list)
    body_part: str | None = None  # Body Part Examined (0018,0015) of its first file; None: not read

    @property
    def transfer_syntaxes(self) -> list[str]:
        return sorted({i.transfer_syntax_uid for i in self.instances})

    @property
    def lossy(self) -> bool:
        return any(i.lossy for i in self.instances)

    @property
    def number_of_frames(self) -> int:
        return sum(i.number_of_frames for i in self.instances)


@dataclass
class StudyEntry:
    study_uid: str
    patient_key: str
    date: str
    time: str
    description: str
    accession: str
    study_id: str = ""
    referring_physician: str = ""
    series_uids: list[str] = field(default_factory=list)


@dataclass
class PatientEntry:
    """Demographics for display; ``ins`` is the INS from Other Patient IDs Sequence."""

    key: str
    name: str
    patient_id: str
    issuer: str
    birth_date: str
    sex: str
    ins: str = ""
    ins_oid: str = ""
    ins_kind: str = ""
    study_uids: list[str] = field(default_factory=list)


@dataclass
class DicomIndex:
    patients: dict[str, PatientEntry] = field(default_factory=dict)
    studies: dict[str, StudyEntry] = field(default_factory=dict)
    series: dict[str, SeriesEntry] = field(default_factory=dict)
    documents: list[InstanceEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cancelled: bool = False

    def instances(self) -> Iterable[InstanceEntry]:
        for series in self.series.values():
            yield from series.instances


# ---------------------------------------------------------------- reading one header


def _looks_like_raw_dataset(path: Path) -> bool:
    """A file without preamble/File Meta that starts with a group 0002 or 0008 LE tag."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    if len(head) < 8:
        return False
    group = int.from_bytes(head[0:2], "little")
    element = int.from_bytes(head[2:4], "little")
    return group in (0x0002, 0x0008) and element < 0x0100


def read_header(path: Path) -> Dataset:
    """Read a file's dataset with Pixel Data deferred (its value is not loaded).

    Files without a Part 10 preamble are read too when they start like a
    dataset (PS3.10 7.1 says they should not exist, archives still hold them).
    Raises :class:`InvalidDicomError` for files that are not DICOM.
    """
    try:
        ds = pydicom.dcmread(path, defer_size=4096)
    except InvalidDicomError:
        if not _looks_like_raw_dataset(path):
            raise
        ds = pydicom.dcmread(path, defer_size=4096, force=True)
    ensure_transfer_syntax(ds)
    return ds


def ensure_transfer_syntax(ds: Dataset) -> None:
    """Fill (0002,0010) from the encoding actually read when File Meta lacks it."""
    meta = ds.file_meta if hasattr(ds, "file_meta") else None
    if meta is not None and meta.get("TransferSyntaxUID"):
        return
    if meta is None:
        ds.file_meta = pydicom.dataset.FileMetaDataset()
    implicit, little = ds.original_encoding
    if implicit is None:
        implicit, little = True, True
    ds.file_meta.TransferSyntaxUID = (
        codecs.IMPLICIT_LE if implicit else (codecs.EXPLICIT_LE if little else codecs.EXPLICIT_BE)
    )


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n else None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _first_group_value(ds: Dataset, sequence: str, keyword: str) -> Any:
    """Value from Shared, else first Per-frame Functional Groups (PS3.3 C.7.6.16)."""
    for fg in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        groups = ds.get(fg)
        if not groups:
            continue
        item = groups[0]
        seq = item.get(sequence)
        if seq and keyword in seq[0]:
            return seq[0].get(keyword)
    return None


def expected_native_length(ds: Dataset) -> int:
    """Bytes of native Pixel Data the header implies (PS3.5 8.1.1; YBR_FULL_422 is 2/3)."""
    rows = _int(ds.get("Rows"), 0) or 0
    cols = _int(ds.get("Columns"), 0) or 0
    frames = _int(ds.get("NumberOfFrames"), 1) or 1
    samples = _int(ds.get("SamplesPerPixel"), 1) or 1
    bits = _int(ds.get("BitsAllocated"), 0) or 0
    if _text(ds, "PhotometricInterpretation") == "YBR_FULL_422":
        bits_total = rows * cols * frames * bits * 2
    else:
        bits_total = rows * cols * frames * samples * bits
    return (bits_total + 7) // 8


def frame_size(ds: Dataset) -> int:
    """Bytes one decoded frame occupies (an upper bound, known before decoding)."""
    rows = _int(ds.get("Rows"), 0) or 0
    cols = _int(ds.get("Columns"), 0) or 0
    samples = _int(ds.get("SamplesPerPixel"), 1) or 1
    bits = _int(ds.get("BitsAllocated"), 8) or 8
    return rows * cols * samples * max(1, (bits + 7) // 8)


def decoded_size(ds: Dataset) -> int:
    """Bytes all decoded frames will occupy (an upper bound, before any decoding)."""
    return frame_size(ds) * (_int(ds.get("NumberOfFrames"), 1) or 1)


def check_image_header(ds: Dataset, max_bytes: int = MAX_FRAME_BYTES) -> None:
    """Refuse an image header that cannot be decoded sensibly; raises ``ValueError``.

    Checks Rows/Columns/Bits Allocated are present (PS3.3 C.7.6.3, type 1) and
    that one decoded frame stays under ``max_bytes``, before anything is decoded.
    """
    missing = [
        k for k in ("Rows", "Columns", "BitsAllocated") if _int(ds.get(k), None) in (None, 0)
    ]
    if missing:
        raise ValueError(f"missing or zero {', '.join(missing)} (PS3.3 C.7.6.3)")
    size = frame_size(ds)
    if size > max_bytes:
        raise ValueError(
            f"image too large to decode: {ds.Rows}x{ds.Columns} pixels need"
            f" {size / 1024**3:.1f} GiB a frame (limit {max_bytes / 1024**3:.1f} GiB)"
        )


def check_memory(ds: Dataset, frames: int, headroom: float = 0.8) -> None:
    """Refuse to decode ``frames`` frames that would not fit in free memory (``MemoryError``)."""
    import psutil

    need = frame_size(ds) * max(1, frames)
    available = psutil.virtual_memory().available
    if need > headroom * available:
        raise MemoryError(
            f"decoding {frames} frame(s) needs {need / 1024**3:.1f} GiB but only"
            f" {available / 1024**3:.1f} GiB of memory is free"
        )


def check_pixel_element(ds: Dataset, path: Path | None) -> None:
    """Compare the Pixel Data element with the header and the file size; ``ValueError``."""
    raw = ds.get_item("PixelData", keep_deferred=True)
    if raw is None:
        return
    length = getattr(raw, "length", None)
    tell = getattr(raw, "value_tell", None)
    if length is None or length == 0xFFFFFFFF:
        return
    deflated = ds.file_meta.TransferSyntaxUID == codecs.DEFLATED_LE
    if path is not None and tell is not None and not deflated:
        size = path.stat().st_size
        if tell + length > size:
            raise ValueError(
                f"file truncated: Pixel Data needs {length} bytes from offset {tell}"
                f" but the file has {size} bytes"
            )
    if ds.file_meta.TransferSyntaxUID in codecs.NATIVE_SYNTAXES:
        expected = expected_native_length(ds)
        if length < expected:
            raise ValueError(
                f"Pixel Data has {length} bytes but Rows x Columns x frames x samples x bits"
                f" need {expected}"
            )


def instance_from_dataset(ds: Dataset, path: Path) -> InstanceEntry:
    """Build an :class:`InstanceEntry` from a header (geometry from functional groups too)."""
    ts = str(ds.file_meta.TransferSyntaxUID)
    ipp = ds.get("ImagePositionPatient") or _first_group_value(
        ds, "PlanePositionSequence", "ImagePositionPatient"
    )
    iop = ds.get("ImageOrientationPatient") or _first_group_value(
        ds, "PlaneOrientationSequence", "ImageOrientationPatient"
    )
    spacing = ds.get("PixelSpacing") or _first_group_value(
        ds, "PixelMeasuresSequence", "PixelSpacing"
    )
    return InstanceEntry(
        path=path,
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax_uid=ts,
        instance_number=_int(ds.get("InstanceNumber")),
        rows=_int(ds.get("Rows"), 0) or 0,
        columns=_int(ds.get("Columns"), 0) or 0,
        number_of_frames=_int(ds.get("NumberOfFrames"), 1) or 1,
        image_position=_floats(ipp, 3) if ipp is not None else None,  # type: ignore[arg-type]
        image_orientation=_floats(iop, 6) if iop is not None else None,
        pixel_spacing=_floats(spacing, 2) if spacing is not None else None,  # type: ignore[arg-type]
        lossy=codecs.is_lossy_syntax(ts, _text(ds, "LossyImageCompression")),
        photometric=_text(ds, "PhotometricInterpretation"),
        samples_per_pixel=_int(ds.get("SamplesPerPixel"), 1) or 1,
        bits_allocated=_int(ds.get("BitsAllocated"), 0) or 0,
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        modality=_text(ds, "Modality"),
        laterality=sys.intern(_text(ds, "ImageLaterality") or _text(ds, "Laterality")),
        view_position=sys.intern(_text(ds, "ViewPosition")),
        patient_orientation=patient_orientation(ds),
    )


def patient_orientation(ds: Dataset) -> tuple[str, str]:
    """Patient Orientation (0020,0020) as (row direction, column direction), "" when absent
    (PS3.3 C.7.6.1.1.1: e.g. ("A", "R") or ("P", "FL"))."""
    value = ds.get("PatientOrientation", None)
    if value is None or value == "":
        items: list[str] = []
    elif isinstance(value, str):
        items = [value]
    else:
        items = [str(v) for v in value]
    row, col = [*items, "", ""][:2]
    return sys.intern(row.strip()), sys.intern(col.strip())


# ---------------------------------------------------------------- demographics


def find_ins(ds: Dataset) -> tuple[str, str, str]:
    """(INS, OID, kind) from Other Patient IDs Sequence (0010,1002), or empty strings.

    STANDARDS.md: item with Patient ID = INS, Issuer of Patient ID
    ``ASIP-SANTE-INS-NIR`` and Issuer of Patient ID Qualifiers Sequence >
    Universal Entity ID = the INS OID (type ISO).
    """
    for item in ds.get("OtherPatientIDsSequence") or []:
        pid = _text(item, "PatientID")
        issuer = _text(item, "IssuerOfPatientID")
        oid = ""
        for q in item.get("IssuerOfPatientIDQualifiersSequence") or []:
            oid = _text(q, "UniversalEntityID") or oid
        if pid and (oid in INS_OIDS or issuer.upper().startswith("ASIP-SANTE-INS")):
            return pid, oid, INS_OIDS.get(oid, issuer)
    return "", "", ""


def patient_key(ds: Dataset) -> str:
    pid = _text(ds, "PatientID")
    issuer = _text(ds, "IssuerOfPatientID")
    if pid:
        return f"{issuer}|{pid}"
    return f"name|{_text(ds, 'PatientName')}|{_text(ds, 'PatientBirthDate')}"


def _add_to_index(index: DicomIndex, ds: Dataset, entry: InstanceEntry) -> None:
    key = patient_key(ds)
    patient = index.patients.get(key)
    if patient is None:
        ins, oid, kind = find_ins(ds)
        patient = PatientEntry(
            key=key,
            name=_text(ds, "PatientName"),
            patient_id=_text(ds, "PatientID"),
            issuer=_text(ds, "IssuerOfPatientID"),
            birth_date=_text(ds, "PatientBirthDate"),
            sex=_text(ds, "PatientSex"),
            ins=ins,
            ins_oid=oid,
            ins_kind=kind,
        )
        index.patients[key] = patient
    study_uid = entry.study_uid
    study = index.studies.get(study_uid)
    if study is None:
        study = StudyEntry(
            study_uid=study_uid,
            patient_key=key,
            date=_text(ds, "StudyDate"),
            time=_text(ds, "StudyTime"),
            description=_text(ds, "StudyDescription"),
            accession=_text(ds, "AccessionNumber"),
            study_id=_text(ds, "StudyID"),
            referring_physician=_text(ds, "ReferringPhysicianName"),
        )
        index.studies[study_uid] = study
        patient.study_uids.append(study_uid)
    series = index.series.get(entry.series_uid)
    if series is None:
        series = SeriesEntry(
            series_uid=entry.series_uid,
            study_uid=study_uid,
            modality=entry.modality,
            description=_text(ds, "SeriesDescription"),
            number=_int(ds.get("SeriesNumber")),
            frame_of_reference_uid=_text(ds, "FrameOfReferenceUID"),
            body_part=_text(ds, "BodyPartExamined"),
        )
        index.series[entry.series_uid] = series
        study.series_uids.append(entry.series_uid)
    series.instances.append(entry)


# ---------------------------------------------------------------- scanning


def _is_directory_object(ds: Dataset) -> bool:
    sop = _text(ds, "SOPClassUID") or _text(ds.file_meta, "MediaStorageSOPClassUID")
    return sop == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds


def dicomdir_files(path: Path) -> list[Path]:
    """Files referenced by a DICOMDIR's directory records (PS3.3 F.5, Referenced File ID)."""
    ds = pydicom.dcmread(path, force=True)
    base = path.parent
    files: list[Path] = []
    seen: set[Path] = set()
    for record in ds.get("DirectoryRecordSequence") or []:
        ref = record.get("ReferencedFileID")
        if not ref:
            continue
        parts = [ref] if isinstance(ref, str) else [str(p) for p in ref]
        candidate = base.joinpath(*parts)
        if not candidate.exists():
            # media written by Windows tools: case differs from the record
            candidate = _case_insensitive(base, parts) or candidate
        if not candidate.exists() and (base / parts[-1]).is_file():
            # folder copied flat from the medium (e.g. ct_gantry_tilt/Philips...)
            candidate = base / parts[-1]
        if candidate not in seen:
            seen.add(candidate)
            files.append(candidate)
    return files


def _case_insensitive(base: Path, parts: list[str]) -> Path | None:
    current = base
    for part in parts:
        try:
            match = next(
                (c for c in current.iterdir() if c.name.lower() == part.lower()), None
            )
        except OSError:
            return None
        if match is None:
            return None
        current = match
    return current


def _walk(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
    return out


def _is_dicomdir_file(path: Path) -> bool:
    if path.name.upper() == "DICOMDIR":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return head[128:132] == b"DICM" and MEDIA_STORAGE_DIRECTORY.encode() in head


def candidate_files(path: Path) -> tuple[list[Path], list[str]]:
    """Files to read for ``path`` (file, folder or DICOMDIR) and errors found listing them."""
    if path.is_dir():
        return _walk(path), []
    if not path.exists():
        return [], [f"{path}: no such file or folder"]
    if _is_dicomdir_file(path):
        try:
            files = dicomdir_files(path)
        except Exception as exc:
            return [], [f"{path}: unreadable DICOMDIR ({exc})"]
        if not files:  # an empty directory (e.g. Philips DIRFILE): read the folder
            return [p for p in _walk(path.parent) if p != path], []
        missing = [f"{f}: referenced by {path.name} but missing" for f in files if not f.exists()]
        return [f for f in files if f.exists()], missing
    return [path], []


def index_file(index: DicomIndex, path: Path, max_bytes: int = MAX_FRAME_BYTES) -> None:
    """Read one file's header into ``index`` (errors and skips recorded, never raised)."""
    try:
        ds = read_header(path)
    except InvalidDicomError:
        index.skipped.append(f"{path}: not a DICOM file")
        return
    except Exception as exc:  # pydicom raises many types on corrupt headers
        index.errors.append(str(DicomReadError(path, f"unreadable header ({_reason(exc)})")))
        return
    if _is_directory_object(ds):
        index.skipped.append(f"{path}: media directory (DICOMDIR)")
        return
    try:
        if "PixelData" not in ds and "FloatPixelData" not in ds and (
            "DoubleFloatPixelData" not in ds
        ):
            if is_image_class(ds) or "Rows" in ds:
                raise ValueError("image object without Pixel Data (truncated or stripped file)")
            entry = instance_from_dataset(ds, path)
            index.documents.append(entry)
            return
        _fill_missing_uids(index, ds, path)
        check_image_header(ds, max_bytes)
        check_pixel_element(ds, path)
        entry = instance_from_dataset(ds, path)
    except Exception as exc:
        index.errors.append(str(DicomReadError(path, _reason(exc))))
        return
    _add_to_index(index, ds, entry)


def _fill_missing_uids(index: DicomIndex, ds: Dataset, path: Path) -> None:
    """Give files lacking SOP/Series/Study Instance UID (type 1) a stable derived UID.

    Such files exist in archives (test objects, old secondary captures); the
    viewer still shows them, each in a series of its folder, and says so.
    """
    from pydicom.uid import generate_uid

    missing = [
        k for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID") if not _text(ds, k)
    ]
    if not missing:
        return
    if "StudyInstanceUID" in missing:
        ds.StudyInstanceUID = generate_uid(
            entropy_srcs=["study", patient_key(ds), _text(ds, "StudyDate"), str(path.parent)]
        )
    if "SeriesInstanceUID" in missing:
        ds.SeriesInstanceUID = generate_uid(
            entropy_srcs=["series", ds.StudyInstanceUID, _text(ds, "SeriesNumber"),
                          _text(ds, "Modality"), str(path.parent)]
        )
    if "SOPInstanceUID" in missing:
        ds.SOPInstanceUID = generate_uid(entropy_srcs=["instance", str(path.resolve())])
    index.warnings.append(f"{path}: missing {', '.join(missing)}; derived UIDs used")


def is_image_class(ds: Dataset) -> bool:
    """SOP classes named "... Image Storage" in PS3.6 Annex A always carry pixels."""
    from pydicom.uid import UID

    sop = _text(ds, "SOPClassUID") or _text(ds.file_meta, "MediaStorageSOPClassUID")
    return bool(sop) and "Image Storage" in UID(sop).name


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


def scan(
    path: Path | str,
    progress: Progress | None = None,
    cancel: Event | None = None,
    max_bytes: int = MAX_FRAME_BYTES,
) -> DicomIndex:
    """Index a file, a folder (recursively) or a DICOMDIR, reading headers only.

    ``progress(done, total)`` is called after each file; setting ``cancel``
    stops the scan (``DicomIndex.cancelled`` is then True). Instances of each
    series are sorted by Instance Number then path; sorting by position is
    the volume assembler's job.
    """
    root = Path(path)
    index = DicomIndex()
    files, errors = candidate_files(root)
    index.errors.extend(errors)
    total = len(files)
    for done, file in enumerate(files, start=1):
        if cancel is not None and cancel.is_set():
            index.cancelled = True
            break
        index_file(index, file, max_bytes)
        if progress is not None:
            progress(done, total)
    for series in index.series.values():
        series.instances.sort(
            key=lambda i: (i.instance_number is None, i.instance_number or 0, str(i.path))
        )
    return index
