"""Decode many files or frames across processes (GIL-bound codecs), native data in-process.

The JPEG, JPEG-LS, JPEG 2000 and RLE decoders hold the GIL while they run
(measured: threads give no speed-up), so compressed files and frames are
spread over a process pool. Native (uncompressed) pixel data is mostly I/O
and a numpy copy: it is decoded in the calling process, which avoids
pickling arrays between processes for nothing.

This module holds the program's one pool of decoding processes
(:func:`pool`), which :mod:`viewer.dicom.assemble` uses too. On Linux its
workers are forked when this process has a single thread (instant start,
the codecs already imported), else started by a ``forkserver``: forking a
process that runs Qt and network threads is unsafe. ``spawn`` elsewhere. It
is created on first use and reused; :func:`shutdown` ends it (also at exit).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from threading import Event

import numpy as np

from viewer.dicom import codecs
from viewer.dicom.errors import DicomReadError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class DecodeCancelled(Exception):
    """Raised by :func:`decode_files` / :func:`decode_frames` when ``cancel`` was set."""


_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_POOL_LOCK = threading.Lock()


def default_workers() -> int:
    """One process per CPU the scheduler gives us."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def start_method() -> str:
    """How new workers start: ``fork`` on Linux while this process has one thread,
    ``forkserver`` on Linux otherwise, ``spawn`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return "spawn"
    return "fork" if threading.active_count() == 1 else "forkserver"


def running() -> bool:
    """True when the worker processes exist (using them costs no start-up)."""
    return _POOL is not None


def pool(workers: int | None = None, method: str | None = None) -> ProcessPoolExecutor:
    """The shared pool of ``workers`` decoding processes (default :func:`default_workers`),
    created on first use; a broken pool, or one of another size or start ``method``
    (default :func:`start_method`), is replaced."""
    global _POOL, _POOL_WORKERS
    workers = workers or default_workers()
    with _POOL_LOCK:
        broken = _POOL is not None and getattr(_POOL, "_broken", False)
        same_method = method is None or (
            _POOL is not None and _POOL._mp_context.get_start_method() == method
        )
        if _POOL is not None and workers == _POOL_WORKERS and not broken and same_method:
            return _POOL
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        import viewer.dicom.pixels  # noqa: F401  (forked workers inherit the codecs)

        method = method or start_method()
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["viewer.dicom.pixels"])
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        _POOL_WORKERS = workers
        return _POOL



def shutdown() -> None:
    """Stop the worker processes (they are restarted on next use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=True, cancel_futures=True)
            _POOL = None


atexit.register(shutdown)


# ---------------------------------------------------------------- worker functions


def _decode_file(path: str) -> np.ndarray:
    from viewer.dicom.pixels import read_frames

    return read_frames(path)


def _decode_frame_range(path: str, indices: list[int]) -> np.ndarray:
    from viewer.dicom.pixels import open_dataset, read_frame

    ds, _ = open_dataset(path)
    return np.stack([read_frame(ds, i) for i in indices])


def _transfer_syntax(path: Path) -> str:
    from viewer.dicom.index import read_header

    try:
        return str(read_header(path).file_meta.TransferSyntaxUID)
    except Exception:
        return ""  # the decoder reports the real problem with the file's name


# ---------------------------------------------------------------- public API


def _discard_pool() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
            _POOL = None


def _kill_pool() -> None:
    """Terminate the workers (a decoder is stuck in C code and cannot be interrupted)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is None:
        return
    processes = list(getattr(pool, "_processes", {}).values())
    for proc in processes:
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.join(5)


def _run(
    jobs: list[tuple[Callable[..., np.ndarray], tuple[object, ...], bool]],
    *,
    workers: int,
    progress: Progress | None,
    cancel: Event | None,
    errors: list[str] | None,
    timeout: float = 300.0,
    method: str | None = None,
) -> list[np.ndarray | None]:
    """Run jobs (func, args, in_process?) keeping order; see :func:`decode_files`.

    A job running longer than ``timeout`` seconds in a worker is stopped (the
    workers are terminated and the other pending jobs resubmitted) and
    reported as a :class:`DicomReadError` for its file.
    """
    total = len(jobs)
    results: list[np.ndarray | None] = [None] * total
    done = 0

    def finish(i: int, fn: Callable[[], np.ndarray]) -> None:
        nonlocal done
        try:
            try:
                results[i] = fn()
            except BrokenProcessPool as exc:
                # a decoder crashed its process (e.g. a hostile codestream): never
                # retry in this process, report the file and start a fresh pool later
                _discard_pool()
                raise DicomReadError(
                    str(jobs[i][1][0]), "decoder process terminated abruptly"
                ) from exc
        except DicomReadError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
        done += 1
        if progress is not None:
            progress(done, total)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise DecodeCancelled("decoding cancelled")

    def submit(indices: list[int]) -> dict[Future[np.ndarray], int]:
        executor = pool(workers, method)
        return {executor.submit(jobs[i][0], *jobs[i][1]): i for i in indices}

    def hung(i: int) -> Callable[[], np.ndarray]:
        def fail() -> np.ndarray:
            raise DicomReadError(
                str(jobs[i][1][0]), f"decoding took longer than {timeout:g} s and was stopped"
            )

        return fail

    remote = [i for i, job in enumerate(jobs) if not job[2]]
    use_pool = workers > 1 and len(remote) > 1
    futures: dict[Future[np.ndarray], int] = submit(remote) if use_pool else {}
    started: dict[Future[np.ndarray], float] = {}
    try:
        for i, (func, args, local) in enumerate(jobs):
            if local or not use_pool:
                check_cancel()
                finish(i, lambda f=func, a=args: f(*a))
        pending = set(futures)
        while pending:
            check_cancel()
            finished, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
            for fut in finished:
                finish(futures[fut], fut.result)
            now = time.monotonic()
            for fut in pending:
                if fut.running():
                    started.setdefault(fut, now)
            stuck = [f for f in pending if now - started.get(f, now) > timeout]
            if stuck:
                _kill_pool()
                for fut in stuck:
                    finish(futures[fut], hung(futures[fut]))
                rest = [futures[f] for f in pending if f not in stuck]
                futures = submit(rest) if rest else {}
                pending, started = set(futures), {}
    finally:
        for fut in futures:
            fut.cancel()
    return results


def decode_files(
    paths: Sequence[Path | str],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: Event | None = None,
    errors: list[str] | None = None,
    timeout: float = 300.0,
    method: str | None = None,
) -> list[np.ndarray]:
    """Stored values of every file (as :func:`viewer.dicom.pixels.read_frames`), in order.

    Compressed files go to ``workers`` processes (default: CPUs available),
    native ones are decoded here. ``progress(done, total)`` is called in the
    calling thread as files finish; setting ``cancel`` stops pending work and
    raises :class:`DecodeCancelled`. A failing file raises its
    :class:`DicomReadError`, unless an ``errors`` list is given: then the
    message ``"path: reason"`` is appended there and that file is left out of
    the result (the others keep their order). A file whose decoder runs
    longer than ``timeout`` seconds in a worker is stopped and reported.
    ``method`` forces the workers' start method (``viewer doctor`` checks
    ``forkserver``, what a process with threads uses).
    """
    items = [Path(p) for p in paths]
    n = workers or default_workers()
    jobs: list[tuple[Callable[..., np.ndarray], tuple[object, ...], bool]] = [
        (_decode_file, (str(p),), _transfer_syntax(p) not in codecs.GIL_BOUND_SYNTAXES)
        for p in items
    ]
    results = _run(
        jobs, workers=n, progress=progress, cancel=cancel, errors=errors, timeout=timeout,
        method=method,
    )
    return [r for r in results if r is not None]


def decode_frames(
    path: Path | str,
    indices: Sequence[int] | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: Event | None = None,
) -> np.ndarray:
    """Frames of one multi-frame file, (frames, rows, cols[, samples]), split over processes.

    Each worker opens the file and decodes a contiguous run of frames, so a
    96-frame JPEG cine or a 300-frame enhanced CT uses every core.
    ``progress(done, total)`` counts runs of frames.
    """
    from viewer.dicom.pixels import check_decodable, open_dataset, read_frames

    ds, p = open_dataset(path)
    check_decodable(ds, p)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    wanted = list(range(frames)) if indices is None else [int(i) for i in indices]
    bad = [i for i in wanted if not 0 <= i < frames]
    if bad:
        raise DicomReadError(p, f"frame {bad[0]} requested but the image has {frames}")
    n = workers or default_workers()
    ts = str(ds.file_meta.TransferSyntaxUID)
    if ts not in codecs.GIL_BOUND_SYNTAXES or n == 1 or len(wanted) < 2:
        if indices is None:
            return read_frames(ds)
        return _decode_frame_range(str(path), wanted)
    size = -(-len(wanted) // (n * 2))  # two runs per worker evens out the load
    runs = [wanted[i : i + size] for i in range(0, len(wanted), size)]
    jobs: list[tuple[Callable[..., np.ndarray], tuple[object, ...], bool]] = [
        (_decode_frame_range, (str(path), run), False) for run in runs
    ]
    parts = _run(jobs, workers=n, progress=progress, cancel=cancel, errors=None)
    return np.concatenate([part for part in parts if part is not None])
