"""Scanning and assembling in a separate process, so the UI thread never waits for the GIL.

Header parsing (pydicom) and volume assembly are Python-heavy. Run in a
thread of the GUI process they compete with the UI thread for the GIL, and
on a busy machine the event loop then stalls for 100-300 ms at a time
(measured by tests/ui/test_main_window.py). Here they run in one long-lived
worker *process* (``spawn``: the GUI has threads, so no ``fork``); the voxels
come back through shared memory, mapped without a copy, and only small
objects are pickled.

The process is started early (:func:`warm_up`, after the window is shown)
so its imports are paid before the first study is opened. Cancelling a
request abandons its result; the worker finishes the job it is on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import shared_memory
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_POOL: ProcessPoolExecutor | None = None
_LOCK = threading.Lock()


class LoadCancelled(Exception):
    """The user cancelled: the result, if it comes, is dropped."""


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1,
                                        mp_context=multiprocessing.get_context("spawn"))
        return _POOL


def _reset() -> None:
    global _POOL
    with _LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None


def _child_ready() -> bool:
    import viewer.dicom.assemble
    import viewer.dicom.index  # noqa: F401

    return True


def warm_up() -> None:
    """Start the worker process and its imports in the background."""
    try:
        _pool().submit(_child_ready)
    except (RuntimeError, OSError) as exc:  # pragma: no cover - no process support
        log.warning("loader process unavailable (%s): loading in threads", exc)


def shutdown() -> None:
    _reset()


# ------------------------------------------------------------------ child side
def _child_scan(path: str) -> Any:
    from viewer.dicom.index import scan

    return scan(path)


def _export(volume: Any) -> tuple[Any, str, tuple[int, ...], str]:
    """Volume without its array + the shared memory block holding the array."""
    from multiprocessing import resource_tracker

    array = np.ascontiguousarray(volume.array)
    shm = shared_memory.SharedMemory(create=True, size=max(array.nbytes, 1))
    np.ndarray(array.shape, array.dtype, buffer=shm.buf)[...] = array
    name = shm.name
    shm.close()
    # the parent owns the block from now on (it unlinks it once mapped)
    resource_tracker.unregister(f"/{name}" if not name.startswith("/") else name,
                                "shared_memory")
    light = dataclasses.replace(volume, array=np.empty(0, dtype=array.dtype))
    return light, name, array.shape, array.dtype.str


def _child_assemble(paths: list[str]) -> list[tuple[Any, str, tuple[int, ...], str]]:
    from viewer.dicom.assemble import assemble

    # workers=1: no nested decoding pool inside this worker (its processes kept the
    # worker from exiting at shutdown); decoding runs here, off the GUI process anyway
    return [_export(v) for v in assemble(paths, workers=1)]


# ----------------------------------------------------------------- parent side
def _import(light: Any, name: str, shape: tuple[int, ...], dtype: str) -> Any:
    shm = shared_memory.SharedMemory(name=name)
    with contextlib.suppress(FileNotFoundError):
        shm.unlink()  # the mapping stays valid until closed; nothing leaks if we crash
    array = np.ndarray(shape, np.dtype(dtype), buffer=shm.buf)
    volume = dataclasses.replace(light, array=array)
    volume._shared_memory = shm  # keeps the mapping alive as long as the volume
    return volume


def _wait(future: Future[Any], cancel: threading.Event | None) -> Any:
    while True:
        if cancel is not None and cancel.is_set():
            future.cancel()
            raise LoadCancelled()
        try:
            return future.result(timeout=0.05)
        except TimeoutError:
            continue


def scan(path: str, cancel: threading.Event | None = None) -> Any:
    """:func:`viewer.dicom.index.scan` in the worker process."""
    try:
        return _wait(_pool().submit(_child_scan, str(path)), cancel)
    except BrokenProcessPool:
        _reset()
        raise RuntimeError("the loader process stopped unexpectedly") from None


def assemble(series: Any, cancel: threading.Event | None = None) -> list[Any]:
    """:func:`viewer.dicom.assemble.assemble` of a series (entry or paths) in the worker."""
    instances = getattr(series, "instances", None)
    paths = [str(i.path) for i in instances] if instances is not None else [str(p)
                                                                            for p in series]
    try:
        exported = _wait(_pool().submit(_child_assemble, paths), cancel)
    except BrokenProcessPool:
        _reset()
        raise RuntimeError("the loader process stopped unexpectedly") from None
    return [_import(*item) for item in exported]


def _child_thumbnail(path: str, size: int) -> np.ndarray | None:
    """A uint8 thumbnail of one file (size x size at most), windowed as displayed: grey
    (rows, cols), or RGB (rows, cols, 3) for colour images. A file that cannot be a volume
    (radiograph, ultrasound, colour, cine, Modality LUT Sequence: PS3.3 C.11.1) goes
    through the 2-D pixel chain of :mod:`viewer.dicom.image2d` instead."""
    try:
        return _volume_thumbnail(path, size)
    except Exception as exc:  # not a volume: the 2-D path says whether it is an image at all
        log.debug("thumbnail: not a volume (%s); trying the 2-D path", type(exc).__name__)
    try:
        return _image2d_thumbnail(path, size)
    except Exception as exc:  # an unreadable file gets no thumbnail, the list still shows it
        log.debug("thumbnail: no image (%s)", type(exc).__name__)
        return None


def _shrink(image: np.ndarray, size: int) -> np.ndarray:
    step = max(1, int(np.ceil(max(image.shape[:2]) / size)))
    return np.ascontiguousarray(image[::step, ::step])


def _volume_thumbnail(path: str, size: int) -> np.ndarray:
    from viewer.dicom.assemble import assemble
    from viewer.render.windowing import default_window

    volume = assemble([path], workers=1)[0]
    image = np.asarray(volume.array[volume.array.shape[0] // 2], dtype=np.float32)
    if image.ndim != 2 or image.size == 0:
        raise ValueError("not a grey slice")
    image = _shrink(image, size)
    centre, width = default_window(volume)
    grey = np.clip((image - (centre - width / 2)) / max(width, 1.0), 0.0, 1.0) * 255
    if volume.photometric.upper() == "MONOCHROME1":
        grey = 255 - grey
    return np.ascontiguousarray(grey.astype(np.uint8))


def _image2d_thumbnail(path: str, size: int) -> np.ndarray:
    """Middle frame of a 2-D file through image2d's display chain (VOI, MONOCHROME1,
    palette, YBR -> 8-bit), as the 2-D viewport first shows it."""
    from viewer.dicom.image2d import ImageSeries

    series = ImageSeries.from_paths([path])
    image = np.asarray(series.display(len(series) // 2))
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError("not an image")
    return _shrink(image.astype(np.uint8, copy=False), size)


def _child_thumbnails(paths: list[str], size: int) -> list[np.ndarray | None]:
    return [_child_thumbnail(p, size) for p in paths]


def thumbnails(paths: list[str], size: int = 64,
               cancel: threading.Event | None = None) -> list[np.ndarray | None]:
    """Thumbnails (middle image of each series, its display window; grey or RGB arrays)
    made in the worker."""
    try:
        return _wait(_pool().submit(_child_thumbnails, [str(p) for p in paths], size), cancel)
    except BrokenProcessPool:
        _reset()
        raise RuntimeError("the loader process stopped unexpectedly") from None
