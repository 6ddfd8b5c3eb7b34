"""DICOMweb over HTTPS with certificate verification.

Orthanc 1.10's own HTTPS crashes in this Debian build (PLATFORM.md), so a small TLS
terminating relay (the role nginx plays in production) sits in front of it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from tests.archive.conftest import Seeded
from tests.archive.tlsutil import Pki, make_pki
from viewer.archive.cache import Cache
from viewer.archive.dicomweb import DicomWebClient
from viewer.archive.errors import AuthenticationFailed
from viewer.archive.nodes import LocalAE, parse_address
from viewer.archive.retrieve import Retriever

pytestmark = pytest.mark.integration


class TlsRelay:
    """Accept TLS on a free port and relay the plain bytes to ``target``."""

    def __init__(self, pki: Pki, target: tuple[str, int]) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(pki.server_cert, pki.server_key)
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        """One request per connection, in this thread only (an SSL socket must not be
        read and written from two threads at once)."""
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        with tls, socket.create_connection(self.target) as upstream:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(1 << 16)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
                upstream.sendall(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + rest)
                while chunk := upstream.recv(1 << 16):
                    tls.sendall(chunk)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def relay(
    seeded: Seeded, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TlsRelay, Pki]]:
    pki = make_pki(tmp_path_factory.mktemp("https-pki"))
    server = TlsRelay(pki, ("127.0.0.1", seeded.server.http_port))
    yield server, pki
    server.close()


def test_qido_and_wado_over_https(seeded: Seeded, relay: tuple[TlsRelay, Pki]) -> None:
    server, pki = relay
    node = parse_address(f"https://127.0.0.1:{server.port}/dicom-web", tls_ca=pki.ca, timeout=5)
    assert {r["StudyInstanceUID"] for r in DicomWebClient(node).search("study", {})} == set(
        seeded.studies
    )
    result = Retriever(node, Cache(), LocalAE()).retrieve(seeded.syntax_study)
    assert result.fetched == len(seeded.studies[seeded.syntax_study])
    for path in result.paths:
        got = dcmread(path)
        assert got.PixelData == dcmread(seeded.source(str(got.SOPInstanceUID))).PixelData


def test_https_server_from_another_ca_is_refused(
    relay: tuple[TlsRelay, Pki], tmp_path: Path
) -> None:
    server, _ = relay
    other = make_pki(tmp_path / "other", name="Another CA")
    node = parse_address(f"https://127.0.0.1:{server.port}/dicom-web", tls_ca=other.ca, timeout=5)
    with pytest.raises(AuthenticationFailed, match="certificate"):
        DicomWebClient(node).search("study", {})
    with pytest.raises(AuthenticationFailed, match="certificate"):
        DicomWebClient(node).retrieve("1.2.3", "1.2.3.4", on_part=lambda *_: None)
