"""Lazy frame decoding and the grayscale/colour display pipeline (PS3.3 C.11).

Stored values -> Modality LUT (C.11.1: Rescale Slope/Intercept or Modality LUT
Sequence) -> VOI LUT (C.11.2: window LINEAR, LINEAR_EXACT, SIGMOID, or VOI LUT
Sequence) -> Presentation (MONOCHROME1 displays its minimum white, C.7.6.3.1.2)
-> 8-bit driving values, floored as DCMTK's ``dcmj2pnm`` does. Colour images:
PALETTE COLOR through the palette (C.7.6.3.1.5/6), YBR converted to RGB
(C.7.6.3.1.2) by pydicom, samples above 8 bits scaled to 8. Grey images with a
Supplemental Palette Color LUT (C.7.6.19, C.8.16.2.1.1.1) show the stored
values from the palette's first mapped value up in its colours, the others
through the grey pipeline.

Frames are decoded only when asked for (``read_frame``), headers are checked
first so that a corrupt header never allocates gigabytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from viewer.dicom import codecs
from viewer.dicom.errors import DicomReadError
from viewer.dicom.index import (
    MAX_FRAME_BYTES,
    check_image_header,
    check_memory,
    check_pixel_element,
    is_image_class,
    read_header,
)

logger = logging.getLogger(__name__)

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


# ---------------------------------------------------------------- reading


def open_dataset(path_or_dataset: Path | str | Dataset) -> tuple[Dataset, Path | None]:
    """Dataset with Pixel Data deferred (a path is read header-first), and its path."""
    if isinstance(path_or_dataset, Dataset):
        name = getattr(path_or_dataset, "filename", None)
        return path_or_dataset, Path(name) if isinstance(name, str) else None
    path = Path(path_or_dataset)
    try:
        return read_header(path), path
    except Exception as exc:
        raise DicomReadError(path, f"unreadable DICOM file ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_decodable(
    ds: Dataset, path: Path | None, max_bytes: int = MAX_FRAME_BYTES, frames: int | None = None
) -> None:
    """Header checks made BEFORE decoding: pixels present, frame size, free memory for
    ``frames`` frames (default all), Pixel Data length, transfer syntax."""
    where = path if path is not None else getattr(ds, "filename", None)
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        if is_image_class(ds) or "Rows" in ds:
            raise DicomReadError(
                where, "image object without Pixel Data (truncated or stripped file)"
            )
        raise DicomReadError(where, "no Pixel Data (not an image)")
    try:
        check_image_header(ds, max_bytes)
        check_pixel_element(ds, path)
        check_memory(ds, frames if frames is not None else int(ds.get("NumberOfFrames", 1) or 1))
    except (ValueError, MemoryError) as exc:
        raise DicomReadError(where, str(exc)) from exc
    if "PixelData" in ds and "PixelRepresentation" not in ds:  # float data has none
        raise DicomReadError(where, "missing Pixel Representation (0028,0103), type 1")
    ts = str(ds.file_meta.TransferSyntaxUID)
    info = codecs.support(ts)
    if not info.supported:
        raise DicomReadError(
            where, f"transfer syntax {info.name} ({ts}) is not supported by this viewer"
        )


def _as_frames(arr: np.ndarray, ds: Dataset, single: bool) -> np.ndarray:
    """Reshape pydicom's output to (frames, rows, cols[, samples]), native byte order."""
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    core = 3 if samples > 1 else 2
    if single or arr.ndim == core:
        return arr.reshape((1, *arr.shape[-core:]))
    return arr


def read_frames(
    path_or_dataset: Path | str | Dataset,
    *,
    as_rgb: bool = True,
    max_bytes: int = MAX_FRAME_BYTES,
) -> np.ndarray:
    """All frames in stored values: shape (frames, rows, cols) or (frames, rows, cols, samples).

    ``max_bytes`` bounds one frame; all frames together must fit in free memory.

    YBR colour is converted to RGB (``as_rgb``); palette indices stay indices.
    Raises :class:`DicomReadError` naming the file for any failure.
    """
    ds, path = open_dataset(path_or_dataset)
    check_decodable(ds, path, max_bytes)
    arr, _ = _decode(ds, None, path, as_rgb)
    return _as_frames(arr, ds, single=False)


def read_frame(
    path_or_dataset: Path | str | Dataset,
    index: int = 0,
    *,
    as_rgb: bool = True,
    max_bytes: int = MAX_FRAME_BYTES,
) -> np.ndarray:
    """One frame in stored values, (rows, cols) or (rows, cols, samples); others stay encoded."""
    ds, path = open_dataset(path_or_dataset)
    check_decodable(ds, path, max_bytes, frames=1)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not 0 <= index < frames:
        raise DicomReadError(path, f"frame {index} requested but the image has {frames}")
    arr, _ = _decode(ds, index, path, as_rgb)
    return _as_frames(arr, ds, single=True)[0]


def _decode(
    ds: Dataset, index: int | None, path: Path | None, as_rgb: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        return codecs.decode(ds, index, path=path, as_rgb=as_rgb)
    except DicomReadError:
        raise
    except MemoryError as exc:
        raise DicomReadError(path, "not enough memory to decode the image") from exc


# ---------------------------------------------------------------- Modality LUT (C.11.1)


def _functional_item(ds: Dataset, frame_index: int | None, sequence: str) -> Dataset | None:
    """First item of ``sequence`` in this frame's per-frame group, else shared groups."""
    if frame_index is not None:
        per_frame = ds.get("PerFrameFunctionalGroupsSequence")
        if per_frame and frame_index < len(per_frame):
            seq = per_frame[frame_index].get(sequence)
            if seq:
                return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(sequence)
        if seq:
            return seq[0]
    return None


def rescale_for_frame(ds: Dataset, frame_index: int | None = None) -> tuple[float, float] | None:
    """(slope, intercept) from the dataset or Pixel Value Transformation functional group."""
    src: Dataset | None = ds if "RescaleSlope" in ds or "RescaleIntercept" in ds else None
    if src is None:
        src = _functional_item(ds, frame_index, "PixelValueTransformationSequence")
    if src is None:
        return None
    slope = float(src.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(src.get("RescaleIntercept", 0.0) or 0.0)
    return slope, intercept


def modality_lut(ds: Dataset, stored: np.ndarray, frame_index: int | None = None) -> np.ndarray:
    """Stored values -> modality values (PS3.3 C.11.1).

    The Modality LUT Sequence (0028,3000) wins over Rescale Slope/Intercept
    when both are present (C.11.1: they shall not both be, DCMTK uses the LUT).
    Without either the values are returned unchanged. Colour images pass through.
    """
    from pydicom.pixels import apply_modality_lut

    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        return stored
    if "PALETTE" in str(ds.get("PhotometricInterpretation", "")):
        return stored
    if "ModalityLUTSequence" in ds:
        return apply_modality_lut(stored, ds)
    rescale = rescale_for_frame(ds, frame_index)
    if rescale is None:
        return stored
    slope, intercept = rescale
    if slope == 1.0 and intercept == 0.0:
        return stored
    return stored.astype(np.float64) * slope + intercept


# ---------------------------------------------------------------- VOI LUT (C.11.2)


def voi_lut(
    values: np.ndarray,
    center: float,
    width: float,
    function: str = "LINEAR",
    out_range: tuple[float, float] = (0, 255),
) -> np.ndarray:
    """Window ``values`` to ``out_range`` (float64), PS3.3 C.11.2.1.2.

    LINEAR (C.11.2.1.2.1, width >= 1)::

        x <= c - 0.5 - (w-1)/2  -> ymin
        x >  c - 0.5 + (w-1)/2  -> ymax
        else y = ((x - (c - 0.5)) / (w-1) + 0.5) * (ymax - ymin) + ymin

    LINEAR_EXACT (C.11.2.1.3.2, width > 0): the same without the 0.5 and 1
    offsets. SIGMOID (C.11.2.1.3.1): ``(ymax-ymin) / (1 + exp(-4 (x-c)/w)) + ymin``.
    """
    ymin, ymax = float(out_range[0]), float(out_range[1])
    span = ymax - ymin
    x = np.asarray(values, dtype=np.float64)
    c, w = float(center), float(width)
    fn = (function or "LINEAR").strip().upper()
    if fn == "SIGMOID":
        if w <= 0:
            raise ValueError(f"SIGMOID VOI needs a window width > 0, got {w}")
        return span / (1.0 + np.exp(-4.0 * (x - c) / w)) + ymin
    if fn == "LINEAR_EXACT":
        if w <= 0:
            raise ValueError(f"LINEAR_EXACT VOI needs a window width > 0, got {w}")
        lo, hi = c - w / 2.0, c + w / 2.0
        y = ((x - c) / w + 0.5) * span + ymin
    elif fn == "LINEAR":
        if w < 1:
            raise ValueError(f"LINEAR VOI needs a window width >= 1, got {w}")
        lo, hi = c - 0.5 - (w - 1) / 2.0, c - 0.5 + (w - 1) / 2.0
        y = ((x - (c - 0.5)) / max(w - 1, 1e-12) + 0.5) * span + ymin
    else:
        raise ValueError(f"unknown VOI LUT Function {function!r} (PS3.3 C.11.2.1.3)")
    y = np.where(x <= lo, ymin, np.where(x > hi, ymax, y))
    return np.clip(y, min(ymin, ymax), max(ymin, ymax))


def _lut_descriptor(item: Dataset) -> tuple[int, int, int]:
    """(entries, first mapped value, bits) of a LUT Descriptor (C.11.1.1 / C.11.2.1.1)."""
    desc = [int(v) for v in item.LUTDescriptor]
    entries = desc[0] or 65536
    return entries, desc[1], desc[2]


def _lut_data(item: Dataset, entries: int, bits: int) -> np.ndarray:
    raw = item.get("LUTData")
    if raw is None:
        raise ValueError("LUT Data (0028,3006) missing")
    if isinstance(raw, bytes | bytearray):
        dtype = np.dtype("<u1") if bits <= 8 and len(raw) == entries else np.dtype("<u2")
        data = np.frombuffer(raw, dtype=dtype)
    else:
        data = np.asarray(raw if isinstance(raw, list | tuple) else list(raw), dtype=np.int64)
    return data[:entries].astype(np.float64)


def apply_voi_lut_sequence(
    values: np.ndarray,
    ds: Dataset,
    index: int = 0,
    out_range: tuple[float, float] = (0, 255),
) -> np.ndarray:
    """Map ``values`` through item ``index`` of the VOI LUT Sequence (PS3.3 C.11.2.1.1).

    Values below the first mapped value take the first entry, above the last
    the last entry; entries are scaled from ``0..2**bits-1`` to ``out_range``.
    """
    seq = ds.get("VOILUTSequence")
    if not seq or index >= len(seq):
        raise ValueError("no VOI LUT Sequence item")
    item = seq[index]
    entries, first, bits = _lut_descriptor(item)
    lut = _lut_data(item, entries, bits)
    # Some writers declare 16 bits for 8-bit data (PS3.3 C.11.2.1.1 note): use the
    # range the data actually needs, as DCMTK does.
    top = float(2**bits - 1)
    if bits == 16 and lut.size and lut.max() < 256:
        top = 255.0
    idx = np.clip(np.rint(np.asarray(values, dtype=np.float64)) - first, 0, len(lut) - 1)
    y = lut[idx.astype(np.int64)] / top
    ymin, ymax = out_range
    return y * (ymax - ymin) + ymin


# ---------------------------------------------------------------- the whole chain


def frame_window(ds: Dataset, frame_index: int = 0) -> tuple[float, float, str] | None:
    """(centre, width, function) of the first window: dataset, then Frame VOI LUT group."""
    src: Dataset | None = ds if "WindowCenter" in ds and "WindowWidth" in ds else None
    if src is None:
        src = _functional_item(ds, frame_index, "FrameVOILUTSequence")
    if src is None or "WindowCenter" not in src or "WindowWidth" not in src:
        return None
    c, w = src.WindowCenter, src.WindowWidth
    c = c[0] if _is_multi(c) else c
    w = w[0] if _is_multi(w) else w
    fn = src.get("VOILUTFunction", "LINEAR") or "LINEAR"
    fn = fn[0] if _is_multi(fn) else fn
    try:
        return float(c), float(w), str(fn).upper()
    except (TypeError, ValueError):
        return None


def header_windows(ds: Dataset, frame_index: int = 0) -> list[tuple[float, float, str, str]]:
    """Every window of the header: (centre, width, function, explanation), PS3.3 C.11.2.

    Window Center/Width are multi-valued with one Window Center & Width
    Explanation per pair; enhanced objects carry them in Frame VOI LUT.
    """
    src: Dataset | None = ds if "WindowCenter" in ds and "WindowWidth" in ds else None
    if src is None:
        src = _functional_item(ds, frame_index, "FrameVOILUTSequence")
    if src is None or "WindowCenter" not in src or "WindowWidth" not in src:
        return []

    def as_list(v: Any) -> list[Any]:
        return list(v) if _is_multi(v) else [v]

    centres, widths = as_list(src.WindowCenter), as_list(src.WindowWidth)
    explanations = as_list(src.get("WindowCenterWidthExplanation", ""))
    fn = src.get("VOILUTFunction", "LINEAR") or "LINEAR"
    fn = str(fn[0] if _is_multi(fn) else fn).upper()
    out = []
    for n, (c, w) in enumerate(zip(centres, widths, strict=False)):
        try:
            text = str(explanations[n]) if n < len(explanations) else ""
            out.append((float(c), float(w), fn, text))
        except (TypeError, ValueError):
            continue
    return out


def _is_multi(v: Any) -> bool:
    return not isinstance(v, str | bytes) and hasattr(v, "__len__")


def _min_max_window(values: np.ndarray, integer: bool = True) -> tuple[float, float, str]:
    """Window spanning the frame's min..max: (centre, width, function).

    Integer data: as DCMTK ``dcmj2pnm +Wm`` (width max-min+1, LINEAR). Float
    data (Float Pixel Data, PS3.3 C.7.6.24): LINEAR_EXACT over exactly min..max.
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    if not integer:
        if hi <= lo:
            return lo, 1.0, "LINEAR_EXACT"
        return (lo + hi) / 2.0, hi - lo, "LINEAR_EXACT"
    width = hi - lo + 1.0 if hi > lo else 1.0
    return lo + (hi - lo + 1.0) / 2.0, width, "LINEAR"


def _invert(ds: Dataset) -> bool:
    """MONOCHROME1 shows its minimum white (C.7.6.3.1.2); INVERSE Presentation LUT Shape too."""
    pi = str(ds.get("PhotometricInterpretation", "")).strip()
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if pi == "MONOCHROME1":
        return True
    return shape == "INVERSE"


def to_display(
    ds: Dataset | Path | str,
    frame_index: int = 0,
    window: tuple[float, float] | str | None = None,
    *,
    function: str | None = None,
    voi_lut_index: int | None = None,
    stored: np.ndarray | None = None,
    supplemental: bool = True,
) -> np.ndarray:
    """8-bit image for the screen: (rows, cols) grey or (rows, cols, 3) RGB.

    Grey: Modality LUT, then the VOI given by ``window`` (centre, width, or
    ``"minmax"`` for the frame's range as ``dcmj2pnm +Wm``), else
    the VOI LUT Sequence item ``voi_lut_index``, else the first window in the
    header (or frame functional group), else the VOI LUT Sequence, else the
    frame's min..max; MONOCHROME1 inverted after VOI; floored to integers
    (matches ``dcmj2pnm``). ``stored`` skips decoding when the frame is known.
    A grey frame with a Supplemental Palette Color LUT comes out RGB (see
    :func:`apply_supplemental_palette`) unless ``supplemental`` is False (the
    grey pipeline alone, as ``dcmj2pnm`` shows it).
    """
    dataset, _ = open_dataset(ds)
    if stored is None:
        stored = read_frame(dataset, frame_index)
    pi = str(dataset.get("PhotometricInterpretation", "")).strip()
    if pi == "PALETTE COLOR":
        return palette_to_rgb8(dataset, stored)
    if stored.ndim == 3:
        return rgb_to_8bit(dataset, stored)
    grey = grey_to_8bit(dataset, stored, frame_index, window, function, voi_lut_index)
    if supplemental and has_supplemental_palette(dataset, frame_index):
        return apply_supplemental_palette(dataset, stored, grey)
    return grey


def grey_to_8bit(
    ds: Dataset,
    stored: np.ndarray,
    frame_index: int = 0,
    window: tuple[float, float] | str | None = None,
    function: str | None = None,
    voi_lut_index: int | None = None,
) -> np.ndarray:
    """Grayscale pipeline C.11.1 -> C.11.2 -> MONOCHROME1 -> floor to uint8.

    Integer frames go through a lookup table built over their stored range
    (each entry computed exactly as a pixel would be), so a 1760x1760 CR is
    windowed in milliseconds; float frames are computed pixel by pixel.
    """
    lookup = _lookup_domain(stored) if stored.size > 4096 else None
    if lookup is not None:
        domain, index = lookup

        def present() -> np.ndarray:
            mask = np.zeros(domain.shape, dtype=bool)
            mask[index] = True
            return mask

        table = _grey_pipeline(
            ds, domain, frame_index, window, function, voi_lut_index, True, present
        )
        return table[index]
    integer = bool(np.issubdtype(stored.dtype, np.integer))
    return _grey_pipeline(ds, stored, frame_index, window, function, voi_lut_index, integer, None)


def _lookup_domain(stored: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(domain of stored values, index of each pixel into it) for integer frames.

    8/16-bit signed data index a table over the whole type through an unsigned
    view (two's complement order); unsigned data a table over 0..max.
    """
    if stored.dtype in (np.int8, np.int16):
        unsigned = np.uint8 if stored.dtype == np.int8 else np.uint16
        domain = np.arange(np.iinfo(unsigned).max + 1, dtype=unsigned).view(stored.dtype)
        return domain, stored.view(unsigned)
    if stored.dtype in (np.uint8, np.uint16):
        return np.arange(int(stored.max()) + 1, dtype=stored.dtype), stored
    return None


def _grey_pipeline(
    ds: Dataset,
    stored: np.ndarray,
    frame_index: int,
    window: tuple[float, float] | str | None,
    function: str | None,
    voi_lut_index: int | None,
    integer: bool,
    present: Callable[[], np.ndarray] | None,
) -> np.ndarray:
    """The chain on an array of stored values; ``present()`` masks the values that
    occur in the frame (min-max window when ``stored`` is a lookup domain)."""
    values = modality_lut(ds, stored, frame_index)

    def min_max() -> tuple[float, float, str]:
        return _min_max_window(values if present is None else values[present()], integer)

    if isinstance(window, str):
        if window.lower() != "minmax":
            raise ValueError(f"unknown window {window!r} (a (centre, width) pair or 'minmax')")
        c, w, fn = min_max()
        y = voi_lut(values, c, w, fn)
    elif window is not None:
        y = voi_lut(values, window[0], window[1], function or "LINEAR")
    elif voi_lut_index is not None:
        y = apply_voi_lut_sequence(values, ds, voi_lut_index)
    else:
        header = frame_window(ds, frame_index)
        if header is not None and header[1] > 0:
            fn = function or header[2]
            if fn == "LINEAR" and header[1] < 1:
                fn = "LINEAR_EXACT"
            y = voi_lut(values, header[0], header[1], fn)
        elif ds.get("VOILUTSequence"):
            y = apply_voi_lut_sequence(values, ds, 0)
        else:
            c, w, fn = min_max()
            y = voi_lut(values, c, w, fn)
    if _invert(ds):
        y = 255.0 - y
    return np.floor(np.clip(y, 0, 255)).astype(np.uint8)


def rgb_to_8bit(ds: Dataset, rgb: np.ndarray) -> np.ndarray:
    """RGB samples (YBR already converted) to 8 bits: keep the top 8 of Bits Stored."""
    if rgb.dtype == np.uint8:
        return rgb
    bits = int(ds.get("BitsStored", 8) or 8)
    if np.issubdtype(rgb.dtype, np.floating):
        lo, hi = float(rgb.min()), float(rgb.max())
        return np.floor((rgb - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)
    shift = max(bits - 8, 0)
    return (rgb.astype(np.uint64) >> shift).clip(0, 255).astype(np.uint8)


def has_supplemental_palette(ds: Dataset, frame_index: int = 0) -> bool:
    """True when a grey frame is to be shown with its Supplemental Palette Color LUT.

    PS3.3 C.7.6.19 / C.8.16.2.1.1.1: MONOCHROME1/2 with Red, Green and Blue
    Palette Color Lookup Table Descriptor and Data (or Segmented Data), unless
    Pixel Presentation (0008,9205) says MONOCHROME; MIXED defers to the frame's
    own Pixel Presentation in its MR/CT Image Frame Type functional group.
    """
    if not str(ds.get("PhotometricInterpretation", "")).strip().startswith("MONOCHROME"):
        return False
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        return False
    for colour in ("Red", "Green", "Blue"):
        if f"{colour}PaletteColorLookupTableDescriptor" not in ds:
            return False
        if (f"{colour}PaletteColorLookupTableData" not in ds
                and f"Segmented{colour}PaletteColorLookupTableData" not in ds):
            return False
    presentation = str(ds.get("PixelPresentation", "") or "").strip().upper()
    if presentation == "MIXED":
        for sequence in ("MRImageFrameTypeSequence", "CTImageFrameTypeSequence"):
            item = _functional_item(ds, frame_index, sequence)
            if item is not None and "PixelPresentation" in item:
                presentation = str(item.PixelPresentation).strip().upper()
                break
    return presentation not in ("MONOCHROME", "MIXED")


def apply_supplemental_palette(ds: Dataset, stored: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """RGB of a grey frame with a Supplemental Palette Color LUT (PS3.3 C.8.16.2.1.1.1).

    Stored values below the palette's first mapped value (second value of the
    Palette Color Lookup Table Descriptor) keep ``grey``, the 8-bit output of
    the grey pipeline; the others are mapped by the palette (the last entry
    beyond its end) to 8-bit colour as :func:`palette_to_rgb8` does.
    """
    first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    if int(ds.get("PixelRepresentation", 0) or 0) and first >= 32768:
        first -= 65536  # a signed first value mapped (C.7.6.3.1.5)
    rgb = np.repeat(np.asarray(grey, dtype=np.uint8)[..., None], 3, axis=-1)
    coloured = stored >= first
    if coloured.any():
        rgb[coloured] = palette_to_rgb8(_palette_only(ds), stored[coloured])[..., :3]
    return rgb


_PALETTE_KEYWORDS = tuple(
    f"{kind}{colour}PaletteColorLookupTable{part}"
    for colour in ("Red", "Green", "Blue", "Alpha")
    for kind, part in (("", "Descriptor"), ("", "Data"), ("Segmented", "Data"))
)


def _palette_only(ds: Dataset) -> Dataset:
    """The palette elements alone: pydicom's ``apply_color_lut`` refuses a dataset whose
    Pixel Presentation is COLOR or MIXED (it would not split grey from colour)."""
    out = Dataset()
    for keyword in _PALETTE_KEYWORDS:
        if keyword in ds:
            out[keyword] = ds[keyword]
    if hasattr(ds, "file_meta"):
        out.file_meta = ds.file_meta  # segmented data: the byte order
    return out


def palette_to_rgb8(ds: Dataset, indices: np.ndarray) -> np.ndarray:
    """PALETTE COLOR indices through the palette (PS3.3 C.7.6.3.1.5/6), to 8-bit RGB."""
    from pydicom.pixels import apply_color_lut

    rgb = apply_color_lut(indices, ds)
    desc = ds.get("RedPaletteColorLookupTableDescriptor")
    bits = int(desc[2]) if desc is not None else 8
    if bits > 8 or rgb.dtype != np.uint8:
        # 16-bit entries: keep the high byte (DCMTK does the same)
        if bits == 16 and rgb.max() < 256:
            return rgb.astype(np.uint8)
        return (rgb.astype(np.uint32) >> (bits - 8)).astype(np.uint8)
    return rgb.astype(np.uint8)


# ---------------------------------------------------------------- lossy flag


def is_lossy(ds: Dataset) -> bool:
    """True when the image has undergone lossy compression (PS3.3 C.7.6.1.1.5).

    Lossy Image Compression (0028,2110) "01", or a transfer syntax that is
    lossy (JPEG baseline/extended, video), or may be (JPEG 2000, HTJ2K,
    near-lossless JPEG-LS, JPEG XL) unless the attribute says "00".
    """
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    return codecs.is_lossy_syntax(ts, str(ds.get("LossyImageCompression", "") or ""))
