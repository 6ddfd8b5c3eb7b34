"""Display test patterns (AAPM TG18 style) as 12-bit images at a screen's native size.

Patterns are meant to be shown 1:1 (one image pixel per screen pixel) with
window 4080 / level 2040 (TG18 section 3). Values are 12-bit (0..4095) in
``uint16`` arrays of shape ``(height, width)``.

* :func:`tg18_ln` -- TG18-LN12-01..18: a uniform square of 10% of the area in
  the middle of a background at 20% of full scale, level ``240 (n - 1)``.
* :func:`tg18_qc` -- a TG18-QC-like test image: 16 luminance patches (0..4080)
  with low-contrast inner squares, 0/5% and 95/100% patches, a continuous ramp,
  one- and two-pixel line-pair patterns at the centre and the corners, a
  1-pixel border and grid, and "QUALITY CONTROL" text at several contrasts.

Export with :func:`save_png` (16-bit with the 12-bit values, or 8-bit after
the window) and :func:`save_dicom` (Secondary Capture, BitsStored 12, the
window in the VOI LUT module).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

FULL_SCALE = 4080  # TG18 12-bit patterns use 0..4080 with W 4080 / L 2040
WINDOW_CENTER = 2040
WINDOW_WIDTH = 4080
LN_LEVELS = tuple(240 * k for k in range(18))
LN_BACKGROUND = FULL_SCALE // 5  # 20% of full scale


def _check_size(width: int, height: int) -> None:
    if width < 64 or height < 64:
        raise ValueError(f"pattern size {width}x{height} too small (64x64 at least)")


def ln_patch_box(width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the TG18-LN central square: 10% of the image area."""
    side = round(float(np.sqrt(0.10 * width * height)))
    side = min(side, width, height)
    x0, y0 = (width - side) // 2, (height - side) // 2
    return x0, y0, x0 + side, y0 + side


def tg18_ln(number: int, width: int, height: int) -> NDArray[np.uint16]:
    """TG18-LN12-``number`` (1..18) at ``width`` x ``height`` native pixels."""
    if not 1 <= number <= len(LN_LEVELS):
        raise ValueError(f"TG18-LN patterns are numbered 1..18, not {number}")
    _check_size(width, height)
    img = np.full((height, width), LN_BACKGROUND, dtype=np.uint16)
    x0, y0, x1, y1 = ln_patch_box(width, height)
    img[y0:y1, x0:x1] = LN_LEVELS[number - 1]
    return img


def _line_pairs(size: int, period: int, vertical: bool) -> NDArray[np.uint16]:
    """Alternating black/white lines ``period // 2`` pixels wide."""
    idx = np.arange(size)
    stripes = np.where((idx // (period // 2)) % 2 == 0, FULL_SCALE, 0).astype(np.uint16)
    block = np.tile(stripes, (size, 1))
    return block if vertical else block.T.copy()


def _resolution_block(size: int) -> NDArray[np.uint16]:
    """Four quadrants: vertical and horizontal lines, 1 pixel and 2 pixels wide."""
    half = size // 2
    out = np.zeros((2 * half, 2 * half), dtype=np.uint16)
    out[:half, :half] = _line_pairs(half, 2, vertical=True)
    out[:half, half:] = _line_pairs(half, 2, vertical=False)
    out[half:, :half] = _line_pairs(half, 4, vertical=True)
    out[half:, half:] = _line_pairs(half, 4, vertical=False)
    return out


def _text(img: NDArray[np.uint16], xy: tuple[int, int], text: str, value: int, px: int) -> None:
    """Draw ``text`` with grey ``value`` (Pillow's bitmap font scaled to ``px`` high)."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.load_default(size=max(px, 8))
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    mask = Image.new("L", (img.shape[1], img.shape[0]), 0)
    ImageDraw.Draw(mask).text(xy, text, fill=255, font=font)
    img[np.asarray(mask) > 127] = value


def tg18_qc(width: int, height: int) -> NDArray[np.uint16]:
    """A TG18-QC-like test image at ``width`` x ``height`` native pixels (12-bit)."""
    _check_size(width, height)
    bg = FULL_SCALE // 2
    img = np.full((height, width), bg, dtype=np.uint16)
    unit = min(width, height)
    # grid every 10% of the shorter side and a 1-pixel border at full scale
    step = max(unit // 10, 8)
    img[::step, :] = bg + 400
    img[:, ::step] = bg + 400
    img[0, :] = img[-1, :] = FULL_SCALE
    img[:, 0] = img[:, -1] = FULL_SCALE
    cx, cy = width // 2, height // 2
    # 16 luminance patches on a ring of 4x4 around the centre
    patch = max(unit // 14, 8)
    levels = [round(k * FULL_SCALE / 15) for k in range(16)]
    x_start = cx - 2 * patch - patch // 2
    y_start = cy - unit // 2 + unit // 8
    for k, level in enumerate(levels):
        x = x_start + (k % 8) * (patch + patch // 4) - 2 * patch
        y = y_start + (k // 8) * (patch + patch // 4)
        img[y : y + patch, x : x + patch] = level
        q = patch // 4
        inner = min(level + 64, 4095) if level < FULL_SCALE // 2 else level - 64
        img[y + q : y + patch - q, x + q : x + patch - q] = inner
    # 0/5% and 95/100% low-contrast patches
    big = max(unit // 8, 16)
    q = big // 3
    for x, outer, inner in (
        (cx - 2 * big, 0, round(0.05 * FULL_SCALE)),
        (cx + big, FULL_SCALE, round(0.95 * FULL_SCALE)),
    ):
        img[cy - big // 2 : cy + big // 2, x : x + big] = outer
        img[cy - big // 2 + q : cy + big // 2 - q, x + q : x + big - q] = inner
    # continuous ramps left and right (0 at the top to full scale at the bottom)
    ramp_w = max(width // 24, 8)
    y0, y1 = height // 8, height - height // 8
    ramp = np.linspace(0, FULL_SCALE, y1 - y0).round().astype(np.uint16)[:, None]
    img[y0:y1, step // 2 : step // 2 + ramp_w] = ramp
    img[y0:y1, width - step // 2 - ramp_w : width - step // 2] = ramp
    # line pairs at the centre and the four corners
    res = max((unit // 16) // 2 * 2, 8)
    block = _resolution_block(res)
    b = block.shape[0]
    margin = max(unit // 40, 4)
    for bx, by in (
        (cx - b // 2, cy - b // 2),
        (margin, margin),
        (width - margin - b, margin),
        (margin, height - margin - b),
        (width - margin - b, height - margin - b),
    ):
        img[by : by + b, bx : bx + b] = block
    # "QUALITY CONTROL" at decreasing contrast on the background
    px = max(unit // 40, 10)
    ty = cy + unit // 4
    for k, delta in enumerate((800, 200, 50, 20)):
        _text(img, (cx - 10 * px, ty + k * (px + px // 2)), "QUALITY CONTROL", bg - delta, px)
    _text(
        img,
        (margin, height - margin - b - 2 * px),
        f"Regard TG18-QC-like {width}x{height}",
        FULL_SCALE,
        px,
    )
    return img


def to_display(img: NDArray[np.uint16], bits: int = 8) -> NDArray[np.uint16]:
    """P-values after the patterns' window (W 4080 / L 2040, LINEAR_EXACT, PS3.3 C.11.2.1.3.2)."""
    top = (1 << bits) - 1
    lo = WINDOW_CENTER - WINDOW_WIDTH / 2
    out = np.clip((img.astype(np.float64) - lo) / WINDOW_WIDTH, 0.0, 1.0) * top
    return np.round(out).astype(np.uint8 if bits <= 8 else np.uint16)


def save_png(img: NDArray[np.uint16], path: Path, bits: int = 16) -> Path:
    """PNG of the pattern: 16-bit holding the 12-bit values, or 8-bit after the window."""
    from PIL import Image

    if bits == 16:
        Image.fromarray(img.astype(np.uint16)).save(path)
    elif bits == 8:
        Image.fromarray(to_display(img, 8), mode="L").save(path)
    else:
        raise ValueError("PNG export is 8 or 16 bits")
    return path


def save_dicom(img: NDArray[np.uint16], path: Path, description: str) -> Path:
    """Secondary Capture of the pattern (MONOCHROME2, 12 bits stored, W 4080 / L 2040)."""
    import datetime as dt

    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    now = dt.datetime.now()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.ConversionType = "SYN"
    ds.PatientName = "QA^TG18"
    ds.PatientID = "QA-TG18"
    ds.StudyDate = ds.ContentDate = now.strftime("%Y%m%d")
    ds.StudyTime = ds.ContentTime = now.strftime("%H%M%S")
    ds.SeriesDescription = description
    ds.ImageComments = "Display test pattern: show 1:1 with W 4080 / L 2040"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = img.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.WindowCenter, ds.WindowWidth = WINDOW_CENTER, WINDOW_WIDTH
    ds.PixelData = img.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
