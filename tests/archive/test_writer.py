"""The retrieve's writer threads: a queue bounded in bytes, errors reported."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from viewer.archive.retrieve import _Writer


def _run(store: Any) -> Any:
    return SimpleNamespace(store=store, cache=SimpleNamespace(flush=lambda: None))


def test_put_waits_while_the_queued_bytes_exceed_the_limit() -> None:
    release = threading.Event()
    stored: list[str] = []

    def store(chunks: list[bytes], sop: str) -> None:
        release.wait(10)
        stored.append(sop)

    writer = _Writer(_run(store), threads=1, limit=1000)
    writer.put(([b"x" * 300], "1"))  # taken by the writer, which blocks in store
    writer.put(([b"x" * 600], "2"))  # 900 bytes not stored yet: still under the limit
    third = threading.Thread(target=writer.put, args=(([b"x" * 600], "3"),))
    third.start()
    time.sleep(0.2)
    assert third.is_alive(), "put() did not wait for room"
    release.set()
    third.join(5)
    assert not third.is_alive()
    writer.close()
    assert stored == ["1", "2", "3"]


def test_a_storing_error_is_raised_by_put_or_close() -> None:
    def store(chunks: list[bytes], sop: str) -> None:
        raise OSError(f"disk full writing {sop}")

    writer = _Writer(_run(store), threads=2)
    writer.put(([b"x"], "1"))
    with pytest.raises(OSError, match="disk full"):
        for n in range(100):  # put() raises once a writer has failed, close() at the latest
            writer.put(([b"x"], str(n)))
            time.sleep(0.01)
        writer.close()


def test_what_waits_is_dropped_once_cancelled() -> None:
    cancel = threading.Event()
    started = threading.Event()
    release = threading.Event()
    stored: list[str] = []

    def store(chunks: list[bytes], sop: str) -> None:
        started.set()
        release.wait(10)
        stored.append(sop)

    writer = _Writer(_run(store), threads=1, cancel=cancel)
    for n in range(5):
        writer.put(([b"x" * 10], str(n)))
    assert started.wait(5)
    cancel.set()  # "0" is being written; "1".."4" wait
    release.set()
    writer.close()
    assert stored == ["0"]
