"""A small Audit Record Repository for tests: syslog over UDP, TCP or TLS on 127.0.0.1.

It keeps every message it receives (duplicates included) so tests can check
order, loss and repeats; ``stop()`` closes everything abruptly, as a repository
going away does, and ``start()`` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SEQ = re.compile(rb'\[meta sequenceId="(\d+)"\]')


def sequence_id(msg: bytes) -> int:
    m = SEQ.search(msg)
    assert m, msg[:200]
    return int(m.group(1))


@dataclass
class Receiver:
    scheme: str  # udp | tcp | tls
    ssl_context: ssl.SSLContext | None = None
    port: int = 0
    messages: list[bytes] = field(default_factory=list)
    #: crash once after storing this many messages: reset the connection, drop what is unread
    drop_after: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._running = False

    # -- life cycle -----------------------------------------------------------
    def start(self) -> Receiver:
        kind = socket.SOCK_DGRAM if self.scheme == "udp" else socket.SOCK_STREAM
        srv = socket.socket(socket.AF_INET, kind)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        self.port = srv.getsockname()[1]
        self._socks = [srv]
        self._running = True
        target = self._udp_loop if self.scheme == "udp" else self._accept_loop
        self._spawn(target, srv)
        return self

    def stop(self) -> None:
        self._running = False
        for s in list(self._socks):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        for t in self._threads:
            t.join(2)
        self._threads = []

    def _spawn(self, target, *args) -> None:  # type: ignore[no-untyped-def]
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    # -- loops ----------------------------------------------------------------
    def _udp_loop(self, srv: socket.socket) -> None:
        while self._running:
            try:
                data = srv.recv(70000)
            except OSError:
                return
            if data:
                with self._lock:
                    self.messages.append(data)

    def _accept_loop(self, srv: socket.socket) -> None:
        srv.listen(8)
        while self._running:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if self.scheme == "tls":
                assert self.ssl_context is not None
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            self._socks.append(conn)
            self._spawn(self._read_frames, conn)

    def _read_frames(self, conn: socket.socket) -> None:
        buf = b""
        while self._running:
            try:
                chunk = conn.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not chunk:
                return
            buf += chunk
            while True:  # RFC 6587 3.4.1 octet counting: LEN SP MSG
                sp = buf.find(b" ")
                if sp < 0:
                    break
                length = int(buf[:sp])
                if len(buf) < sp + 1 + length:
                    break
                with self._lock:
                    self.messages.append(buf[sp + 1: sp + 1 + length])
                    crash = self.drop_after is not None and len(self.messages) >= self.drop_after
                    if crash:
                        self.drop_after = None
                buf = buf[sp + 1 + length:]
                if crash:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))  # RST, unread bytes lost
                    conn.close()
                    return

    # -- what arrived ---------------------------------------------------------
    def snapshot(self) -> list[bytes]:
        with self._lock:
            return list(self.messages)

    def first_arrivals(self) -> list[int]:
        seen: list[int] = []
        for m in self.snapshot():
            s = sequence_id(m)
            if s not in seen:
                seen.append(s)
        return seen

    def wait_for(self, n: int, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if len(set(self.first_arrivals())) >= n:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


@dataclass(frozen=True)
class TestPKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(folder: Path) -> TestPKI:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate (ATNA mTLS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Regard test CA"))
          .issuer_name(name("Regard test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))

    def leaf(cn: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName]
             ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(san), critical=False)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert, key

    srv, srv_key = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH,
                        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                         x509.DNSName("localhost")])
    cli, cli_key = leaf("workstation-1", ExtendedKeyUsageOID.CLIENT_AUTH,
                        [x509.DNSName("workstation-1")])
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(srv.public_bytes(pem))
    (folder / "client.pem").write_bytes(cli.public_bytes(pem))
    return TestPKI(folder / "ca.pem", folder / "server.pem", write_key(srv_key, folder /
                   "server.key"), folder / "client.pem", write_key(cli_key, folder / "client.key"))


def server_context(pki: TestPKI) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    ctx.load_verify_locations(pki.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED  # ATNA: both nodes authenticate
    return ctx
