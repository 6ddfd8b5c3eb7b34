"""Decoder chain for encapsulated and native Pixel Data, in the style of pydicom's decoders.

pydicom 3 keeps one :class:`pydicom.pixels.decoders.base.Decoder` per transfer
syntax with several *plugins* (pylibjpeg, pyjpegls, gdcm, pillow, pydicom's own
RLE). pydicom tries them in its own order; we choose the order per transfer
syntax from speed measured here (512x512 frame, one core):

* JPEG-LS: CharLS through pyjpegls 4.9 ms vs libjpeg through pylibjpeg 18.7 ms,
* JPEG lossless 9.6 ms and JPEG baseline/extended with pylibjpeg (libjpeg),
* JPEG 2000 and HTJ2K 33 ms with pylibjpeg-openjpeg,
* RLE 1.2 ms with pylibjpeg-rle (pydicom's pure-Python RLE is the fallback),
* python-gdcm only as the last resort, where the pylibjpeg plugins cannot.

Each plugin that fails is recorded with its reason and, if none succeeds, one
:class:`~viewer.dicom.errors.DicomReadError` lists them all. Transfer syntaxes
nothing here decodes (JPEG XL, MPEG, HEVC, ...) are refused with a message
naming the syntax.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import UID

from viewer.dicom.errors import DicomReadError

logger = logging.getLogger(__name__)

# PS3.5 section 10 / PS3.6 Table A-1 transfer syntax UIDs
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR = "1.2.840.10008.1.2.4.81"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"
RLE = "1.2.840.10008.1.2.5"
JPEG_XL_LOSSLESS = "1.2.840.10008.1.2.4.110"
JPEG_XL_RECOMPRESSION = "1.2.840.10008.1.2.4.111"
JPEG_XL = "1.2.840.10008.1.2.4.112"

NATIVE_SYNTAXES = frozenset({IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE})

# Plugin order per transfer syntax (pydicom plugin names). "pydicom" is the
# native RLE decoder; gdcm stays last everywhere.
_JPEG = ("pylibjpeg", "pillow", "gdcm")
_JPEG_LS = ("pyjpegls", "pylibjpeg", "gdcm")
_J2K = ("pylibjpeg", "gdcm", "pillow")
PLUGIN_ORDER: dict[str, tuple[str, ...]] = {
    JPEG_BASELINE: _JPEG,
    JPEG_EXTENDED: _JPEG,
    JPEG_LOSSLESS: ("pylibjpeg", "gdcm"),
    JPEG_LOSSLESS_SV1: ("pylibjpeg", "gdcm"),
    JPEG_LS_LOSSLESS: _JPEG_LS,
    JPEG_LS_NEAR: _JPEG_LS,
    J2K_LOSSLESS: _J2K,
    J2K: _J2K,
    HTJ2K_LOSSLESS: ("pylibjpeg",),
    HTJ2K_LOSSLESS_RPCL: ("pylibjpeg",),
    HTJ2K: ("pylibjpeg",),
    RLE: ("pylibjpeg", "pydicom", "gdcm"),
}

# Syntaxes whose decoders hold the GIL for a long time: spread over processes.
GIL_BOUND_SYNTAXES = frozenset(PLUGIN_ORDER)

# Lossy by definition (PS3.5 8.2): JPEG lossy processes, MPEG/HEVC video,
# JPEG XL recompression of a JPEG.
ALWAYS_LOSSY = frozenset(
    {
        JPEG_BASELINE,
        JPEG_EXTENDED,
        "1.2.840.10008.1.2.4.52",
        "1.2.840.10008.1.2.4.53",
        "1.2.840.10008.1.2.4.54",
        "1.2.840.10008.1.2.4.55",
        "1.2.840.10008.1.2.4.56",
        "1.2.840.10008.1.2.4.59",
        "1.2.840.10008.1.2.4.60",
        "1.2.840.10008.1.2.4.61",
        "1.2.840.10008.1.2.4.62",
        "1.2.840.10008.1.2.4.63",
        "1.2.840.10008.1.2.4.64",
        "1.2.840.10008.1.2.4.100",
        "1.2.840.10008.1.2.4.100.1",
        "1.2.840.10008.1.2.4.101",
        "1.2.840.10008.1.2.4.101.1",
        "1.2.840.10008.1.2.4.102",
        "1.2.840.10008.1.2.4.102.1",
        "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.103.1",
        "1.2.840.10008.1.2.4.104",
        "1.2.840.10008.1.2.4.104.1",
        "1.2.840.10008.1.2.4.105",
        "1.2.840.10008.1.2.4.105.1",
        "1.2.840.10008.1.2.4.106",
        "1.2.840.10008.1.2.4.106.1",
        "1.2.840.10008.1.2.4.107",
        "1.2.840.10008.1.2.4.108",
        JPEG_XL_RECOMPRESSION,
    }
)
# May be lossy or not (near-lossless JPEG-LS, JPEG 2000 and HTJ2K "lossy or
# lossless", JPEG XL): lossy unless Lossy Image Compression (0028,2110) is "00".
MAYBE_LOSSY = frozenset({JPEG_LS_NEAR, J2K, HTJ2K, JPEG_XL, "1.2.840.10008.1.2.4.93"})


@dataclass(frozen=True)
class SyntaxSupport:
    """Whether a transfer syntax can be decoded here, and by what."""

    uid: str
    name: str
    native: bool
    plugins: tuple[str, ...]  # available plugins in the order they are tried

    @property
    def supported(self) -> bool:
        return self.native or bool(self.plugins)


_EXTRA_NAMES = {
    JPEG_XL_LOSSLESS: "JPEG XL Lossless",
    JPEG_XL_RECOMPRESSION: "JPEG XL JPEG Recompression",
    JPEG_XL: "JPEG XL",
    "1.2.840.10008.1.2.4.100.1": "Fragmentable MPEG2 Main Profile / Main Level",
    "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
    "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
}


def syntax_name(uid: str) -> str:
    """Readable name of a transfer syntax UID (the UID itself when unknown)."""
    if uid in _EXTRA_NAMES:
        return _EXTRA_NAMES[uid]
    name = UID(uid).name
    return name if name and name != uid else uid


def available_plugins(uid: str) -> tuple[str, ...]:
    """Plugins able to decode ``uid`` on this machine, in our preference order."""
    from pydicom.pixels.decoders.base import get_decoder

    order = PLUGIN_ORDER.get(uid)
    if order is None:
        return ()
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return ()
    present = set(decoder.available_plugins)
    return tuple(name for name in order if name in present)


def support(uid: str) -> SyntaxSupport:
    """Describe how ``uid`` is decoded (native, plugins, or not at all)."""
    native = uid in NATIVE_SYNTAXES
    return SyntaxSupport(uid, syntax_name(uid), native, () if native else available_plugins(uid))


def is_lossy_syntax(uid: str, lossy_attribute: str | None = None) -> bool:
    """True when pixels in this transfer syntax have (or may have) lost information.

    PS3.3 C.7.6.1.1.5: Lossy Image Compression (0028,2110) "01" means the image
    has been lossy compressed at some point, whatever the current syntax.
    """
    if (lossy_attribute or "").strip() == "01":
        return True
    if uid in ALWAYS_LOSSY:
        return True
    return uid in MAYBE_LOSSY and (lossy_attribute or "").strip() != "00"


# ---------------------------------------------------------------- the runner


def decode(
    ds: Any,
    index: int | None = None,
    *,
    path: Path | str | None = None,
    as_rgb: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Decode all frames (``index`` None) or one frame of ``ds`` through the chain.

    Returns pydicom's ``(array, meta)``: the array in stored values (sign and
    BitsStored applied, YBR converted to RGB when ``as_rgb``), ``meta`` with
    the photometric interpretation of the returned array. Each plugin is tried
    in :data:`PLUGIN_ORDER`; when all fail one :class:`DicomReadError` lists
    every plugin's reason.
    """
    from pydicom.pixels.decoders.base import get_decoder

    where = path if path is not None else getattr(ds, "filename", None)
    ts = str(ds.file_meta.TransferSyntaxUID)
    info = support(ts)
    if not info.supported:
        installed = "" if ts not in PLUGIN_ORDER else " (no decoding plugin installed)"
        raise DicomReadError(
            where, f"transfer syntax {info.name} ({ts}) is not supported by this viewer{installed}"
        )
    decoder = get_decoder(ts)
    plugins: tuple[str, ...] = info.plugins if not info.native else ("",)
    failures: list[str] = []
    for name in plugins:
        try:
            return decoder.as_array(ds, index=index, decoding_plugin=name, as_rgb=as_rgb)
        except MemoryError:
            raise
        except Exception as exc:
            label = name or "native"
            logger.debug("decoder %s failed on a %s frame: %s", label, info.name, exc)
            failures.append(f"{label}: {_first_line(exc)}")
    if len(failures) == 1:
        raise DicomReadError(where, f"cannot decode {info.name} pixel data ({failures[0]})")
    raise DicomReadError(
        where, f"cannot decode {info.name} pixel data; tried " + "; ".join(failures)
    )


_PYDICOM_PREFIX = "Unable to decode as exceptions were raised by all available plugins:"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().replace(_PYDICOM_PREFIX, "")
    if not text:
        return type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = " ".join(lines[:3])[:300]
    return line.split(": ", 1)[1] if line.count(": ") and not lines[1:] else line
