"""Volume assembly on synthetic hard cases whose geometry and values are known exactly."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from viewer.dicom import synthetic as syn
from viewer.dicom.assemble import AssembleCancelled, AssembleError, assemble

N, ROWS, COLS = 12, 20, 24  # non-square on purpose: catches row/column mix-ups


def _values(seed: int = 0, n: int = N) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.integers(-1000, 1500, (n, ROWS, COLS)).astype(np.float64)
    v[:, 0, 0] = np.arange(n) * 10  # slice signature in a corner
    return v


def _voxel_centres(vol, ks) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    out = []
    for k in ks:
        for i, j in ((0, 0), (COLS - 1, ROWS - 1), (5, 13)):
            p = vol.slice_positions[k] + i * vol.geometry.spacing[0] * vol.geometry.direction[:, 0]
            p = p + j * vol.geometry.spacing[1] * vol.geometry.direction[:, 1]
            out.append((p, (i, j, k)))
    return out


def test_shuffled_files_and_opposite_instance_numbers_sort_by_position(tmp_path: Path) -> None:
    v = _values()
    syn.write_series(tmp_path, v, instance_order="reverse", shuffle_names=True, slice_spacing=2.5)
    (vol,) = assemble(tmp_path)
    np.testing.assert_array_equal(vol.array, v)
    assert vol.geometry.spacing == pytest.approx((1.0, 1.0, 2.5))
    assert vol.warnings == []


def test_shuffled_instance_numbers_and_descending_positions(tmp_path: Path) -> None:
    v = _values(1)
    # positions go towards the feet (-z) as k grows in the written order
    syn.write_series(tmp_path, v, step=(0, 0, -3.0), instance_order="shuffle", origin=(5, 6, 7))
    (vol,) = assemble(tmp_path)
    # sorted ascending along the normal (+z): the written order reversed
    np.testing.assert_array_equal(vol.array, v[::-1])
    np.testing.assert_allclose(vol.geometry.origin, (5, 6, 7 - 3.0 * (N - 1)))
    np.testing.assert_allclose(vol.geometry.direction[:, 2], (0, 0, 1))


def test_double_oblique_geometry_and_exact_probe(tmp_path: Path) -> None:
    iop = syn.oblique_iop((17.0, -11.0, 23.0))
    v = _values(2)
    syn.write_series(
        tmp_path,
        v,
        iop=iop,
        origin=(-40.5, 12.25, 88.0),
        pixel_spacing=(0.7, 0.9),
        slice_spacing=3.0,
    )
    (vol,) = assemble(tmp_path)
    g = vol.geometry
    np.testing.assert_allclose(g.direction[:, 0], iop[:3], atol=1e-9)
    np.testing.assert_allclose(g.direction[:, 1], iop[3:], atol=1e-9)
    np.testing.assert_allclose(g.direction[:, 2], syn.normal_of(iop), atol=1e-9)
    assert g.spacing == pytest.approx((0.9, 0.7, 3.0))  # i along a row = column spacing
    assert vol.tilt_degrees < 1e-6 and vol.warnings == []
    for p, ijk in _voxel_centres(vol, (0, 6, N - 1)):
        value, got = vol.value_at(p + 0.2 * g.normal)  # a little off the plane
        assert got == ijk
        assert value == v[ijk[2], ijk[1], ijk[0]]
        np.testing.assert_allclose(g.lps_to_index(p), ijk, atol=1e-6)


def test_gantry_tilt_is_sheared_geometry_from_iop_and_ipp(tmp_path: Path) -> None:
    iop, step = syn.tilted_axial(20.0)
    v = _values(3)
    # the vendor tag is written with the opposite sign on purpose: it must be ignored
    syn.write_series(tmp_path, v, iop=iop, step=step * 2.0, gantry_tilt_tag=-20.0)
    (vol,) = assemble(tmp_path)
    assert "gantry tilt 20.0 degrees" in vol.warnings
    np.testing.assert_allclose(vol.geometry.direction[:, 2], (0, 0, 1), atol=1e-9)
    assert vol.geometry.spacing[2] == pytest.approx(2.0)
    np.testing.assert_allclose(np.diff(vol.gaps_along_normal), 0, atol=1e-6)
    assert vol.gaps_along_normal[0] == pytest.approx(2.0 * np.cos(np.radians(20)), abs=1e-6)
    assert vol.uniform
    for p, ijk in _voxel_centres(vol, (0, 7, N - 1)):
        assert vol.value_at(p) == (v[ijk[2], ijk[1], ijk[0]], ijk)
        np.testing.assert_allclose(vol.geometry.index_to_lps(ijk), p, atol=1e-6)


def test_missing_slice_is_reported_and_every_slice_stays_in_place(tmp_path: Path) -> None:
    v = _values(4)
    syn.write_series(tmp_path, v, slice_spacing=2.0, drop=[5])
    (vol,) = assemble(tmp_path)
    assert vol.dims == (COLS, ROWS, N - 1)
    text = " | ".join(vol.warnings)
    assert "missing slice" in text and "non-uniform spacing" in text
    np.testing.assert_allclose(vol.slice_positions[:, 2], [2.0 * k for k in range(N) if k != 5])
    # a point on the plane of written slice 6 reads slice 6, not the affine's k = 6
    p = np.array([3.0, 4.0, 12.0])
    value, ijk = vol.value_at(p)
    assert ijk == (3, 4, 5) and value == v[6, 4, 3]
    assert not vol.uniform


def test_regular_resamples_onto_a_uniform_grid(tmp_path: Path) -> None:
    v = _values(5)
    syn.write_series(tmp_path, v, slice_spacing=2.0, drop=[5])
    (vol,) = assemble(tmp_path)
    reg = vol.regular()
    assert reg.uniform and reg.dims == (COLS, ROWS, N)
    assert reg.geometry.spacing[2] == pytest.approx(2.0)
    np.testing.assert_array_equal(reg.array[4], v[4])
    np.testing.assert_array_equal(reg.array[6], v[6])
    np.testing.assert_array_equal(reg.array[5], np.rint((v[4] + v[6]) / 2))
    assert any("resampled" in w for w in reg.warnings)
    assert vol.regular() is not vol and reg.regular() is reg


def test_rescale_changing_per_slice_gives_float32_modality_values(tmp_path: Path) -> None:
    v = _values(6)
    rescales = [(0.5 + 0.25 * (k % 3), -1024.0 + 3.5 * k) for k in range(N)]
    syn.write_series(tmp_path, v, rescale=rescales, instance_order="shuffle", shuffle_names=True)
    (vol,) = assemble(tmp_path)
    assert vol.array.dtype == np.float32
    np.testing.assert_allclose(vol.array, syn.quantize(v, rescales), atol=1e-3)


def test_integer_rescale_that_overflows_int16_falls_back_to_float32(tmp_path: Path) -> None:
    v = _values(7) + 33000  # modality values up to ~34500: beyond int16
    syn.write_series(tmp_path, v, rescale=(1.0, 2000.0), signed=False, bits_stored=16)
    (vol,) = assemble(tmp_path)
    np.testing.assert_array_equal(vol.array, v)
    assert vol.array.max() > 32767


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_enhanced_reverse_frames_equal_classic(tmp_path: Path, modality: str) -> None:
    v = _values(8)
    iop = syn.oblique_iop((5.0, 30.0, 0.0))
    rescales = [(1.0, -1024.0 + k) for k in range(N)]
    common = {"iop": iop, "rescale": rescales, "modality": modality, "slice_spacing": 1.25}
    syn.write_series(tmp_path / "classic", v, **common)
    syn.write_series(tmp_path / "enh", v, enhanced=True, reverse_frames=True, **common)
    (c,) = assemble(tmp_path / "classic")
    (e,) = assemble(tmp_path / "enh")
    np.testing.assert_array_equal(c.array, e.array)
    np.testing.assert_allclose(c.geometry.affine, e.geometry.affine, atol=1e-9)
    assert e.source_frames == list(range(N - 1, -1, -1))  # stored last position first


@pytest.mark.parametrize("syntax", syn.WRITABLE_SYNTAXES, ids=lambda u: u.name)
@pytest.mark.parametrize("enhanced", [False, True], ids=["classic", "enhanced"])
def test_every_transfer_syntax(tmp_path: Path, syntax, enhanced: bool) -> None:
    # 40x36: openjpeg refuses tiles smaller than its 6 resolution levels need
    v = np.random.default_rng(9).integers(-1000, 1500, (N, 36, 40)).astype(np.float64)
    rescales = [(1.0, -1024.0)] * N
    syn.write_series(
        tmp_path,
        v,
        transfer_syntax=syntax,
        enhanced=enhanced,
        rescale=rescales,
        instance_order="reverse",
    )
    (vol,) = assemble(tmp_path, workers=2)
    expected = syn.quantize(v, rescales)
    if syntax in syn.LOSSY_SYNTAXES:
        assert "lossy" in vol.warnings and vol.lossy
        if syntax == syn.JPEGLSNearLossless:
            assert np.abs(vol.array - expected).max() <= 2  # jls_error=2
    else:
        np.testing.assert_array_equal(vol.array, expected)
        assert "lossy" not in vol.warnings


def test_compressed_series_decoded_over_processes(tmp_path: Path) -> None:
    v = _values(10, n=16)
    syn.write_series(tmp_path, v, transfer_syntax=syn.JPEGLSLossless, shuffle_names=True)
    calls: list[tuple[int, int]] = []
    (vol,) = assemble(tmp_path, progress=lambda d, t: calls.append((d, t)), workers=2)
    np.testing.assert_array_equal(vol.array, v)
    assert calls[-1] == (16, 16)


def test_mixed_orientations_and_sizes_split_with_reasons(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.1"
    syn.write_series(tmp_path / "ax", _values(11), series_uid=uid, frame_of_reference_uid="1.2.3")
    syn.write_series(
        tmp_path / "cor",
        _values(12, n=5),
        series_uid=uid,
        frame_of_reference_uid="1.2.3",
        iop=(1, 0, 0, 0, 0, -1),
    )
    small = np.zeros((4, 10, 10))
    syn.write_series(
        tmp_path / "small",
        small,
        series_uid=uid,
        frame_of_reference_uid="1.2.3",
        origin=(0, 0, 100),
    )
    vols = assemble(tmp_path)
    assert [v.dims for v in vols] == [(COLS, ROWS, N), (COLS, ROWS, 5), (10, 10, 4)]
    assert "orientation" in vols[1].split_reason
    assert "size 10x10" in vols[2].split_reason
    assert all("series split into 3 volumes" in v.warnings for v in vols)


def test_cancel_stops_assembly(tmp_path: Path) -> None:
    syn.write_series(tmp_path, _values(13))
    event = threading.Event()
    event.set()
    with pytest.raises(AssembleCancelled):
        assemble(tmp_path, cancel=event)


def test_files_without_position_are_refused_with_their_name(tmp_path: Path) -> None:
    import pydicom

    paths = syn.write_series(tmp_path, _values(14, n=2))
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.ImagePositionPatient
        ds.save_as(p)
    with pytest.raises(AssembleError, match="IM0000"):
        assemble(tmp_path)


def test_single_slice_volume(tmp_path: Path) -> None:
    v = _values(15, n=1)
    syn.write_series(tmp_path, v, slice_spacing=5.0)
    (vol,) = assemble(tmp_path)
    assert vol.dims == (COLS, ROWS, 1)
    assert vol.geometry.spacing[2] == pytest.approx(5.0)
    assert vol.value_at((3.0, 2.0, 1.0)) == (v[0, 2, 3], (3, 2, 0))
    assert vol.value_at((3.0, 2.0, 4.0))[0] is None


def test_a_duplicated_file_is_ignored_with_a_warning(tmp_path: Path) -> None:
    import shutil

    import pydicom

    v = _values(16)
    paths = syn.write_series(tmp_path, v)
    ds = pydicom.dcmread(paths[3])
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.99"
    ds.InstanceNumber = 99
    ds.save_as(tmp_path / "copy.dcm")
    shutil.copy(paths[7], tmp_path / "same_file_again.dcm")
    (vol,) = assemble(tmp_path)
    np.testing.assert_array_equal(vol.array, v)
    assert "2 duplicate slice(s) at the same position ignored" in vol.warnings


def test_time_points_at_the_same_positions_become_volumes(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.77"
    first, second = _values(17, n=6), _values(18, n=6)
    syn.write_series(
        tmp_path / "t1",
        first,
        series_uid=uid,
        frame_of_reference_uid="1.2.3",
        extra={"TemporalPositionIdentifier": 1},
    )
    syn.write_series(
        tmp_path / "t2",
        second,
        series_uid=uid,
        frame_of_reference_uid="1.2.3",
        extra={"TemporalPositionIdentifier": 2},
    )
    vols = assemble(tmp_path)
    assert len(vols) == 2
    np.testing.assert_array_equal(vols[0].array, first)
    np.testing.assert_array_equal(vols[1].array, second)
    assert vols[1].split_reason == "repetition 2 of 2 at the same positions"


def test_decoding_workers_are_not_forks_when_other_threads_run(tmp_path: Path) -> None:
    """Beside Qt or network threads, workers must not be forks of this process (a held
    lock would be copied): they come from a forkserver (Linux) or are spawned."""
    from viewer.dicom import assemble as assemble_module
    from viewer.dicom import parallel

    v = _values(19, n=16)
    syn.write_series(tmp_path, v, transfer_syntax=syn.RLELossless)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assemble_module.shutdown_pool()
        assert parallel.start_method() in ("forkserver", "spawn")
        (vol,) = assemble(tmp_path, workers=2)
        np.testing.assert_array_equal(vol.array, v)
        # the one shared pool did the work, with that start method
        assert parallel._POOL is not None
        assert parallel._POOL._mp_context.get_start_method() == parallel.start_method()
    finally:
        stop.set()
        other.join()
        assemble_module.shutdown_pool()


def test_cancel_while_decoding_leaves_the_workers_usable(tmp_path: Path) -> None:
    v = _values(20, n=40)
    syn.write_series(tmp_path, v, transfer_syntax=syn.RLELossless)
    event = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 4:
            event.set()

    with pytest.raises(AssembleCancelled):
        assemble(tmp_path, progress=progress, cancel=event, workers=2)
    (vol,) = assemble(tmp_path, workers=2)
    np.testing.assert_array_equal(vol.array, v)
