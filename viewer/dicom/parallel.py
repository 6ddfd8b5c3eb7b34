"""Decode many files across processes (GIL-bound codecs) or threads (native data).

The JPEG, JPEG-LS, JPEG 2000 and RLE decoders hold the GIL while they run, so
threads do not help: files in those syntaxes are spread over a process pool.
Native (uncompressed) pixel data is mostly I/O and numpy copies: decoded in
the calling process, or threads, which avoids pickling the arrays back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from threading import Event

import numpy as np

from viewer.dicom import codecs
from viewer.dicom.errors import DicomReadError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class DecodeCancelled(Exception):
    """Raised by :func:`decode_files` when its ``cancel`` event was set."""


def _decode_one(path: str) -> np.ndarray:
    from viewer.dicom.pixels import read_frames

    return read_frames(path)


def _needs_process(path: Path) -> bool:
    """True when the file's transfer syntax has a GIL-bound decoder (header peek)."""
    from viewer.dicom.index import read_header

    try:
        ds = read_header(path)
    except Exception:
        return False
    return str(ds.file_meta.TransferSyntaxUID) in codecs.GIL_BOUND_SYNTAXES


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1))


def decode_files(
    paths: Sequence[Path | str],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: Event | None = None,
) -> list[np.ndarray]:
    """Decode every file to stored values (as :func:`viewer.dicom.pixels.read_frames`), in order.

    Compressed files go to ``workers`` processes (default: CPU count), native
    ones are decoded here. ``progress(done, total)`` is called as files finish;
    setting ``cancel`` stops pending work and raises :class:`DecodeCancelled`.
    The first failing file raises its :class:`DicomReadError`.
    """
    items = [Path(p) for p in paths]
    total = len(items)
    results: list[np.ndarray | None] = [None] * total
    done = 0
    compressed = [i for i, p in enumerate(items) if _needs_process(p)]
    native = [i for i in range(total) if i not in set(compressed)]
    n_workers = workers or default_workers()

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise DecodeCancelled("decoding cancelled")

    if compressed and n_workers > 1 and len(compressed) > 1:
        with ProcessPoolExecutor(max_workers=min(n_workers, len(compressed))) as pool:
            futures: dict[Future[np.ndarray], int] = {
                pool.submit(_decode_one, str(items[i])): i for i in compressed
            }
            try:
                for i in native:
                    check_cancel()
                    results[i] = _decode_one(str(items[i]))
                    tick()
                pending = set(futures)
                while pending:
                    check_cancel()
                    finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        results[futures[fut]] = fut.result()
                        tick()
            except BaseException:
                for fut in futures:
                    fut.cancel()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    else:
        for i in range(total):
            check_cancel()
            results[i] = _decode_one(str(items[i]))
            tick()
    out: list[np.ndarray] = []
    for i, arr in enumerate(results):
        if arr is None:  # pragma: no cover - every index is filled above
            raise DicomReadError(items[i], "not decoded")
        out.append(arr)
    return out
