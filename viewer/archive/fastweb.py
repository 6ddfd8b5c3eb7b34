"""A lean HTTP/1.1 reader for WADO-RS ``multipart/related`` streams, for speed.

With httpx each 64 KiB of body goes through httpcore and h11 events, then the
multipart reader copies it into a buffer, searches the boundary and copies each
part out again. Archives usually send a ``Content-Length`` in each part's headers
(Orthanc does, RFC 2046 allows it), so here the socket is read directly into a
buffer of the part's exact size (``recv_into``, one copy from the kernel) and the
boundary is only checked, not searched. Parts without a length, chunked transfer
coding or anything unusual before the first part raise :class:`FallBack`, and the
caller repeats the request with httpx.
"""

from __future__ import annotations

import socket
import ssl
import sys
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from viewer.archive.errors import (
    ArchiveError,
    ArchiveTimeout,
    ArchiveUnreachable,
    AuthenticationFailed,
    ProtocolError,
    RetrieveCancelled,
)

_MAX_HEADER = 64 * 1024
# Part buffers kept for reuse by one stream: a fresh 0.5 MB buffer per instance costs
# page faults and zeroing of new pages; a buffer is reused only once nothing else
# refers to it (the writer threads drop their references after writing). Up to as
# many bytes as the writer threads may have queued (retrieve._Writer's limit).
_POOL = 96 << 20
# references a pooled buffer has when free: the pool's list and getrefcount's argument
_FREE_REFS = 2
_POOL_SAFE = getattr(sys, "_is_gil_enabled", lambda: True)()  # refcounts exact with a GIL


class FallBack(Exception):
    """This response needs the general (httpx) reader; no part was yielded yet."""


class _Reader:
    """Buffered reads from a socket, with exact-size reads straight into a buffer."""

    def __init__(self, sock: socket.socket, where: str, timeout: float) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.where = where
        self.timeout = timeout
        self.pool: list[bytearray] = []
        self.pooled = 0  # bytes in the pool

    def _recv(self, size: int = 1 << 13) -> bytes:
        # small: what comes after part headers is the next body, better read by read_exact
        try:
            data = self.sock.recv(size)
        except TimeoutError as exc:
            raise ArchiveTimeout(f"{self.where} sent nothing for {self.timeout:.0f} s") from exc
        except OSError as exc:
            raise ArchiveError(f"{self.where}: connection lost: {exc}") from exc
        return data

    def read_until(self, delim: bytes, limit: int = _MAX_HEADER) -> bytes:
        while True:
            idx = self.buf.find(delim)
            if idx >= 0:
                out = bytes(self.buf[:idx])
                del self.buf[: idx + len(delim)]
                return out
            if len(self.buf) > limit:
                raise ProtocolError(f"{self.where}: header line too long")
            data = self._recv()
            if not data:
                raise ProtocolError(f"{self.where}: response truncated")
            self.buf += data

    def read_headers(self) -> dict[str, str]:
        """Header fields up to the empty line (none if the empty line comes first)."""
        while len(self.buf) < 2:
            data = self._recv()
            if not data:
                raise ProtocolError(f"{self.where}: response truncated")
            self.buf += data
        if self.buf[:2] == b"\r\n":
            del self.buf[:2]
            return {}
        return _headers(self.read_until(b"\r\n\r\n"))

    def _buffer(self, n: int) -> bytearray:
        """A buffer of ``n`` bytes: a free pooled one when there is one, else a new one."""
        if not _POOL or not _POOL_SAFE:
            return bytearray(n)
        for buf in self.pool:
            if sys.getrefcount(buf) == _FREE_REFS + 1:  # + this loop's variable
                if len(buf) > n:
                    del buf[n:]  # within its allocation: no copy
                elif len(buf) < n:
                    buf += bytes(n - len(buf))
                return buf
        if self.pooled + n > _POOL:
            return bytearray(n)
        buf = bytearray(n + (n >> 3))  # room for parts a little larger
        del buf[n:]
        self.pool.append(buf)
        self.pooled += n + (n >> 3)
        return buf

    def read_exact(self, n: int) -> bytearray:
        out = self._buffer(n)
        view = memoryview(out)
        have = min(n, len(self.buf))
        with memoryview(self.buf) as buffered:
            view[:have] = buffered[:have]
        del self.buf[:have]
        got = have
        try:
            while got < n:
                k = self.sock.recv_into(view[got:], min(n - got, 1 << 20))
                if not k:
                    raise ProtocolError(f"{self.where}: response truncated in the middle of a part")
                got += k
        except TimeoutError as exc:
            raise ArchiveTimeout(f"{self.where} sent nothing for {self.timeout:.0f} s") from exc
        except ssl.SSLError as exc:
            raise ProtocolError(f"{self.where}: TLS error: {exc}") from exc
        except OSError as exc:
            if isinstance(exc, ArchiveError):
                raise
            raise ArchiveError(f"{self.where}: connection lost: {exc}") from exc
        return out


def _headers(block: bytes) -> dict[str, str]:
    out = {}
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            out[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return out


def stream_parts(
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    where: str,
    tls: ssl.SSLContext | None = None,
    cancel: Any = None,
) -> Iterator[bytearray]:
    """GET ``url`` and yield each part body of its ``multipart/related`` answer."""
    from viewer.archive.dicomweb import _boundary

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError as exc:
        raise ArchiveUnreachable(
            f"{where} is unreachable: no answer within {timeout:.0f} s"
        ) from exc
    except OSError as exc:
        raise ArchiveUnreachable(f"{where} is unreachable: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if parts.scheme == "https":
            try:
                sock = (tls or ssl.create_default_context()).wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                raise AuthenticationFailed(f"{where}: TLS certificate refused: {exc}") from exc
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        reader = _Reader(sock, where, timeout)
        status_line = reader.read_until(b"\r\n")
        fields = status_line.split(b" ", 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/1.") or not fields[1].isdigit():
            raise ProtocolError(f"{where}: not an HTTP answer")
        status = int(fields[1])
        head = reader.read_headers()
        if status in (401, 403):
            raise AuthenticationFailed(
                f"{where} refused a retrieve: HTTP {status} (wrong user name, password or token)"
            )
        if status != 200 or "chunked" in head.get("transfer-encoding", "").lower():
            raise FallBack()
        boundary = _boundary(head.get("content-type", ""))
        first = b"--" + boundary
        # preamble up to the first boundary line
        while True:
            line = reader.read_until(b"\r\n")
            if line.rstrip() == first:
                break
        yielded = False
        while True:
            if cancel is not None and cancel.is_set():
                raise RetrieveCancelled(f"{where}: retrieve cancelled")
            part_head = reader.read_headers()
            length = part_head.get("content-length")
            if length is None or not length.isdigit():
                if not yielded:
                    raise FallBack()
                raise ProtocolError(f"{where}: a part without Content-Length")
            yielded = True
            yield reader.read_exact(int(length))
            tail = reader.read_until(b"\r\n")
            if tail == b"":  # CRLF ending the body, then the boundary line
                tail = reader.read_until(b"\r\n")
            if tail.rstrip() == first + b"--":
                return
            if tail.rstrip() != first:
                raise ProtocolError(f"{where}: a part is longer than its Content-Length")
    finally:
        sock.close()
