"""Faults: archive killed mid-retrieve, peers sending garbage or nothing, unknown AE title."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from viewer.archive.cache import Cache
from viewer.archive.dicomweb import DicomWebClient
from viewer.archive.dimse import DimseClient
from viewer.archive.errors import ArchiveError, ArchiveTimeout, ProtocolError
from viewer.archive.nodes import LocalAE, parse_address
from viewer.archive.orthanc import start_orthanc
from viewer.archive.retrieve import Retriever

pytestmark = pytest.mark.integration


class Peer:
    """A TCP server on loopback answering every connection with ``reply`` (then idling)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            try:
                conn.recv(65536)
                if self.reply:
                    conn.sendall(self.reply)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    server = Peer(request.param)
    yield server
    server.close()


# What a TLS server sends to a plain client: not a PDU (PDU types are 1 to 7).
GARBAGE = b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + bytes(range(256)) * 8
HTTP_GARBAGE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: multipart/related; boundary=B\r\nContent-Length: 40\r\n\r\n"
    b"--B\r\n\r\nthis is not a DICOM file at all!!"
)


@pytest.mark.parametrize("peer", [GARBAGE, b"\x02\x00\x00\x00\x00\x05abc"], indirect=True)
def test_dimse_peer_sending_garbage_fails_clearly(peer: Peer) -> None:
    node = parse_address(f"dicom://PACS@127.0.0.1:{peer.port}", timeout=2)
    started = time.monotonic()
    with pytest.raises(ProtocolError, match=r"PACS@127\.0\.0\.1"):
        DimseClient(node, LocalAE(timeout=2)).echo()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("peer", [GARBAGE, b"\x02\x00\x00\x00\x00\x05abc", b""], indirect=True)
def test_fast_c_get_against_a_broken_peer_fails_clearly(peer: Peer) -> None:
    node = parse_address(f"dicom://PACS@127.0.0.1:{peer.port}", timeout=1)
    started = time.monotonic()
    with pytest.raises(ArchiveError, match=r"127\.0\.0\.1"):
        DimseClient(node, LocalAE(timeout=1)).get(
            "study", {"StudyInstanceUID": "1.2.3"}, ["1.2.840.10008.5.1.4.1.1.2"], lambda r: None
        )
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("peer", [b""], indirect=True)
def test_silent_peer_times_out(peer: Peer) -> None:
    node = parse_address(f"dicom://PACS@127.0.0.1:{peer.port}", timeout=1)
    started = time.monotonic()
    with pytest.raises(ArchiveError):
        DimseClient(node, LocalAE(timeout=1)).find("study", {"PatientID": "*"})
    assert time.monotonic() - started < 4
    web = parse_address(f"http://127.0.0.1:{peer.port}/dicom-web", timeout=1)
    with pytest.raises(ArchiveTimeout, match="within 1 s"):
        DicomWebClient(web).search("study", {})


@pytest.mark.parametrize("peer", [HTTP_GARBAGE, GARBAGE], indirect=True)
def test_web_peer_sending_garbage_fails_clearly(peer: Peer) -> None:
    node = parse_address(f"http://127.0.0.1:{peer.port}/dicom-web", timeout=2)
    started = time.monotonic()
    expected = ProtocolError if peer.reply is HTTP_GARBAGE else (ProtocolError, ArchiveTimeout)
    with pytest.raises(expected, match=r"127\.0\.0\.1"):
        DicomWebClient(node).retrieve("1.2.3", "1.2.3.4", on_part=lambda *_: None)
    assert time.monotonic() - started < 5


def test_ae_title_unknown_to_the_archive_is_named(tmp_path: Path) -> None:
    """Orthanc accepts the association of an unknown AE but never answers its C-FIND."""
    server = start_orthanc(tmp_path / "o", extra={"DicomAlwaysAllowFind": False})
    try:
        node = parse_address(server.dimse_address, timeout=1)
        with pytest.raises(ArchiveError, match="may not know our AE title 'STRANGER'"):
            DimseClient(node, LocalAE("STRANGER", timeout=1)).find("study", {})
    finally:
        server.stop(graceful=False)


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_archive_killed_mid_retrieve_then_resume(tmp_path: Path, kind: str) -> None:
    from viewer.dicom.synthetic import write_series

    # 20 MB: more than the socket buffers hold, so the kill lands in the middle of the data.
    values = np.arange(40 * 512 * 512, dtype=np.int32).reshape(40, 512, 512) % 3000
    files = write_series(tmp_path / "series", values)
    server = start_orthanc(tmp_path / "orthanc")
    try:
        server.store_files(files)
        address = server.dimse_address if kind == "dimse" else server.web_address
        node = parse_address(address, timeout=3, associations=2)
        cache = Cache()
        retriever = Retriever(node, cache, LocalAE(timeout=3))
        study = retriever.query("study", {})[0]["StudyInstanceUID"]
        count = 0

        def kill_after_three(path: Path) -> None:
            nonlocal count
            count += 1
            if count == 3:
                server.kill()

        started = time.monotonic()
        with pytest.raises(ArchiveError) as failure:
            retriever.retrieve(study, on_instance=kill_after_three)
        assert time.monotonic() - started < 10
        assert "archive" in str(failure.value)
        report = cache.check(deep=True)
        assert report.ok and not report.partial_removed and not report.reindexed
        kept = cache.cached_sop_uids(study)
        assert 3 <= len(kept) < 40
        server.restart()
        result = retriever.retrieve(study)
        assert result.cached == len(kept) and result.fetched == 40 - len(kept)
        assert len(cache.cached_sop_uids(study)) == 40
    finally:
        server.stop(graceful=False)


def test_web_retrieve_from_an_unreachable_archive_fails_once_naming_it() -> None:
    """The series asked for before the series query: a refused connection is reported
    as the archive being unreachable, not retried by the query."""
    from viewer.archive.errors import ArchiveUnreachable

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node = parse_address(f"http://127.0.0.1:{port}/dicom-web", name="gone", timeout=2)
    started = time.monotonic()
    with pytest.raises(ArchiveUnreachable, match=rf"archive 'gone' \(http://127\.0\.0\.1:{port}"):
        Retriever(node, Cache(), LocalAE(timeout=2)).retrieve("1.2.3", "1.2.3.4")
    assert time.monotonic() - started < 2
