"""Codec chain: every transfer syntax of the corpus decodes to the independent oracle's pixels.

Oracles: DCMTK's dcmdjpeg / dcmdjpls / dcmdrle / dcmconv run here on the same
files (lossless and near-lossless: bit-identical), the NEMA WG04 uncompressed
references (``*_UNC``) and the documented maximum errors of lossy encodings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.dicom import dcmtk
from tests.shared_data import shared
from viewer.dicom import codecs
from viewer.dicom.errors import DicomReadError
from viewer.dicom.pixels import read_frame, read_frames

# One file per syntax / colour model / quirk, decoded by DCMTK for comparison.
DCMTK_EQUAL = [
    "transfer_syntaxes/wg04/CT1/CT1_JPLL.dcm",  # JPEG lossless SV1, signed 16-bit
    "transfer_syntaxes/wg04/CT1/CT1_JLSL.dcm",  # JPEG-LS lossless
    "transfer_syntaxes/wg04/NM1/NM1_JLSN.dcm",  # JPEG-LS near-lossless
    "transfer_syntaxes/wg04/CT1/CT1_RLE.dcm",  # RLE
    "transfer_syntaxes/dcm_qa_ts/3.dcm",  # Explicit VR big endian
    "transfer_syntaxes/dcm_qa_ts/8.dcm",  # JPEG-LS from dcmcjpls
    "transfer_syntaxes/variants/deflated_CT.dcm",  # deflate
    "transfer_syntaxes/variants/JLSL_RGB_ILV1.dcm",  # JPEG-LS RGB line interleave
    "transfer_syntaxes/variants/JPEGLossless_1s_1f_u_16_12.dcm",  # process 14, non-SV1
    "transfer_syntaxes/variants/JPEGLosslessP14SV1_3s_2f_u_08_08.dcm",  # RGB, 2 frames
    "transfer_syntaxes/variants/YBR_FULL-RLE.dcm",  # RLE YBR_FULL
    "transfer_syntaxes/variants/emri_small_RLE.dcm",  # RLE, 10 frames
]


@pytest.mark.integration
@pytest.mark.parametrize("rel", DCMTK_EQUAL, ids=lambda r: Path(r).name)
def test_lossless_decode_equals_dcmtk(rel: str, tmp_path: Path) -> None:
    src = shared(rel)
    ours = read_frames(src)
    reference = read_frames(dcmtk.decompress(src, tmp_path / "dcmtk.dcm"))
    assert ours.shape == reference.shape
    assert ours.dtype.kind == reference.dtype.kind
    np.testing.assert_array_equal(ours, reference)


WG04_LOSSLESS = ["CT1_RLE", "CT1_J2KR", "MR2_JLSL", "MR2_J2KR", "RG3_JPLL", "NM1_J2KR",
                 "US1_J2KR", "VL1_RLE"]


@pytest.mark.parametrize("name", WG04_LOSSLESS)
def test_wg04_lossless_equals_uncompressed_reference(name: str) -> None:
    image = name.split("_")[0]
    ours = read_frames(shared(f"transfer_syntaxes/wg04/{image}/{name}.dcm"))
    ref = read_frames(shared(f"transfer_syntaxes/wg04/{image}/{image}_UNC.dcm"))
    np.testing.assert_array_equal(ours, ref)


# MANIFEST.md: JLSN max |diff| 4 for every image; J2KI per-image maxima.
WG04_LOSSY = [("CT1_JLSN", 4), ("RG3_JLSN", 4), ("CT1_J2KI", 352), ("MR2_J2KI", 32),
              ("US1_J2KI", 124)]


@pytest.mark.parametrize(("name", "max_diff"), WG04_LOSSY)
def test_wg04_lossy_within_documented_error(name: str, max_diff: int) -> None:
    image = name.split("_")[0]
    ours = read_frames(shared(f"transfer_syntaxes/wg04/{image}/{name}.dcm")).astype(np.int64)
    ref = read_frames(shared(f"transfer_syntaxes/wg04/{image}/{image}_UNC.dcm")).astype(np.int64)
    assert int(np.abs(ours - ref).max()) == max_diff


def test_dcm_qa_ts_nine_syntaxes_decode_identically() -> None:
    """MANIFEST: all nine encodings of the Siemens image give the same pixels."""
    ref = read_frames(shared("transfer_syntaxes/dcm_qa_ts/1.dcm"))
    for n in range(2, 10):
        np.testing.assert_array_equal(
            read_frames(shared(f"transfer_syntaxes/dcm_qa_ts/{n}.dcm")), ref, err_msg=f"{n}.dcm"
        )


def test_multiframe_across_syntaxes_identical_and_frame_access() -> None:
    names = ["emri_small", "emri_small_big_endian", "emri_small_RLE",
             "emri_small_jpeg_2k_lossless", "emri_small_jpeg_ls_lossless"]
    arrays = [read_frames(shared(f"transfer_syntaxes/variants/{n}.dcm")) for n in names]
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        np.testing.assert_array_equal(arr, arrays[0], err_msg=name)
    assert arrays[0].shape == (10, 64, 64)
    # one frame decoded alone equals the same frame of the whole decode
    frame7 = read_frame(shared("transfer_syntaxes/variants/emri_small_jpeg_ls_lossless.dcm"), 7)
    np.testing.assert_array_equal(frame7, arrays[0][7])


def test_jpeg_ls_interleave_modes_agree() -> None:
    arrays = [read_frames(shared(f"transfer_syntaxes/variants/JLSL_RGB_ILV{i}.dcm"))
              for i in range(3)]
    np.testing.assert_array_equal(arrays[0], arrays[1])
    np.testing.assert_array_equal(arrays[0], arrays[2])


def test_htj2k_lossless_and_lossy_decode() -> None:
    lossless = read_frames(shared("transfer_syntaxes/variants/HTJ2KLossless_08_RGB.dcm"))
    lossy = read_frames(shared("transfer_syntaxes/variants/HTJ2K_08_RGB.dcm"))
    assert lossless.shape == lossy.shape == (1, 480, 640, 3)
    diff = np.abs(lossless.astype(int) - lossy.astype(int))
    assert 0 < diff.mean() < 3  # same picture, lossy error small


@pytest.mark.integration
def test_jpeg_baseline_within_idct_tolerance_of_dcmtk(tmp_path: Path) -> None:
    """JPEG lossy: IDCT/colour rounding differs between libjpeg builds (MANIFEST: +-1..7)."""
    src = shared("transfer_syntaxes/variants/SC_rgb_dcmtk_+eb+cy+s2.dcm")
    ours = read_frames(src).astype(int)
    reference = read_frames(dcmtk.decompress(src, tmp_path / "d.dcm")).astype(int)
    assert int(np.abs(ours - reference).max()) <= 7


def test_jpeg_ls_prefers_charls_and_gdcm_is_last() -> None:
    assert codecs.available_plugins(codecs.JPEG_LS_LOSSLESS)[0] == "pyjpegls"
    for uid, order in codecs.PLUGIN_ORDER.items():
        plugins = codecs.available_plugins(uid)
        assert plugins, f"no decoder installed for {uid}"
        if "gdcm" in plugins:
            assert plugins.index("gdcm") > 0 or order == ("gdcm",)
    assert codecs.available_plugins(codecs.RLE)[0] == "pylibjpeg"


def test_gdcm_fallback_used_when_pylibjpeg_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared("transfer_syntaxes/wg04/CT1/CT1_JPLL.dcm")
    monkeypatch.setitem(codecs.PLUGIN_ORDER, codecs.JPEG_LOSSLESS_SV1, ("gdcm",))
    via_gdcm = read_frames(src)
    reference = read_frames(shared("transfer_syntaxes/wg04/CT1/CT1_UNC.dcm"))
    np.testing.assert_array_equal(via_gdcm, reference)


def test_all_plugins_failing_gives_one_error_listing_each() -> None:
    """NEMA JPLY files have invalid SOS parameters: each plugin's reason is reported."""
    src = shared("transfer_syntaxes/wg04/MR2/MR2_JPLY.dcm")
    with pytest.raises(DicomReadError) as info:
        read_frames(src)
    text = str(info.value)
    assert text.startswith(f"{src}: cannot decode JPEG Extended")
    assert "pylibjpeg:" in text and "gdcm:" in text
    assert "\n" not in text


def test_lossy_flags() -> None:
    assert codecs.is_lossy_syntax(codecs.JPEG_BASELINE)
    assert codecs.is_lossy_syntax(codecs.EXPLICIT_LE, "01")
    assert not codecs.is_lossy_syntax(codecs.EXPLICIT_LE, "00")
    assert codecs.is_lossy_syntax(codecs.J2K)
    assert not codecs.is_lossy_syntax(codecs.J2K, "00")
    assert not codecs.is_lossy_syntax(codecs.JPEG_LS_LOSSLESS)
    assert codecs.is_lossy_syntax(codecs.JPEG_LS_NEAR, "01")
