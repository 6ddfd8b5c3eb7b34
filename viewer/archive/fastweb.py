"""A lean HTTP/1.1 reader for WADO-RS ``multipart/related`` streams, for speed.

With httpx each 64 KiB of body goes through httpcore and h11 events, then the
multipart reader copies it into a buffer, searches the boundary and copies each
part out again. Archives usually send a ``Content-Length`` in each part's headers
(Orthanc does, RFC 2046 allows it), so here the socket is read directly into a
buffer of the part's exact size (``recv_into``, one copy from the kernel) and the
boundary is only checked, not searched. Parts without a length, chunked transfer
coding or anything unusual before the first part raise :class:`FallBack`, and the
caller repeats the request with httpx.

Over plain HTTP on Linux a caller that stores parts can ask for :class:`PipedPart`
objects instead of buffers: a part's body then goes from the socket into a pipe and
from the pipe into its file (``splice``), never through user space. That removes one of the two
copies of every byte and the part buffers; with a 2-core machine busy, the copies
and their memory traffic were most of the retrieve's CPU time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import ssl
import sys
import threading
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
_SPLICE = hasattr(os, "splice") and sys.platform.startswith("linux")
_PIPE_SIZE = 1 << 20  # the default unprivileged maximum (/proc/sys/fs/pipe-max-size)
# pipes per stream: parts waiting for a writer; 24 MiB of pipe pages at most, within
# the default per-user allowance (/proc/sys/fs/pipe-user-pages-soft: 64 MiB)
_PIPES = 24
_F_SETPIPE_SZ = 1031
_LOW_WATER = _PIPE_SIZE  # a part at once (the kernel lets the receive buffer grow to twice this)
_SPLICE_F_NONBLOCK = getattr(os, "SPLICE_F_NONBLOCK", 2)
# bytes of a part read into memory before it is handed over: its File Meta group
# (PS3.10 7.1, ~200-400 bytes; its length is in (0002,0000)) for part10_meta
_HEAD = 4096


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
        self.lowat = 1
        self.poller: Any = None  # select.poll() of the socket, made on first use

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
        plain = not isinstance(self.sock, ssl.SSLSocket)
        try:
            while got < n:
                if plain:
                    self.low_water(min(n - got, _LOW_WATER))
                k = self.sock.recv_into(view[got:], min(n - got, 1 << 20))
                if not k:
                    raise ProtocolError(f"{self.where}: response truncated in the middle of a part")
                got += k
            self.low_water(1)
        except TimeoutError as exc:
            raise ArchiveTimeout(f"{self.where} sent nothing for {self.timeout:.0f} s") from exc
        except ssl.SSLError as exc:
            raise ProtocolError(f"{self.where}: TLS error: {exc}") from exc
        except OSError as exc:
            if isinstance(exc, ArchiveError):
                raise
            raise ArchiveError(f"{self.where}: connection lost: {exc}") from exc
        return out

    def fill(self, n: int) -> None:
        """Have at least ``n`` bytes buffered."""
        while len(self.buf) < n:
            data = self._recv(max(n - len(self.buf), 1 << 12))
            if not data:
                raise ProtocolError(f"{self.where}: response truncated in the middle of a part")
            self.buf += data

    def splice_in(self, pipe: int, n: int) -> int:
        """Move up to ``n`` bytes from the socket into ``pipe``; 0 once the pipe is full.

        Waits first (poll honours SO_RCVLOWAT: one wake-up once the part's rest is
        there), then splices: two calls a part. A socket with a timeout is
        non-blocking, so a splice that finds nothing after the wait means a full pipe.
        """
        if self.poller is None:
            self.poller = select.poll()
            self.poller.register(self.sock.fileno(), select.POLLIN)
        if not self.poller.poll(self.timeout * 1000):
            raise ArchiveTimeout(f"{self.where} sent nothing for {self.timeout:.0f} s")
        try:
            k = os.splice(self.sock.fileno(), pipe, n, flags=_SPLICE_F_NONBLOCK)
        except BlockingIOError:
            return 0
        except OSError as exc:
            raise ArchiveError(f"{self.where}: connection lost: {exc}") from exc
        if not k:
            raise ProtocolError(f"{self.where}: response truncated in the middle of a part")
        return k

    def piped_part(self, size: int, pipes: _Pipes) -> PipedPart:
        """The next ``size`` bytes as a :class:`PipedPart`."""
        self.fill(min(size, 144))  # preamble, "DICM", (0002,0000) group length
        self.fill(min(size, _meta_end(self.buf) or _HEAD, 1 << 16))
        take = min(size, len(self.buf))
        head = bytes(self.buf[:take])
        del self.buf[:take]
        left = size - take
        pipe = pipes.get() if left else None
        piped = 0
        try:
            while pipe is not None and piped < left:
                self.low_water(min(left - piped, _LOW_WATER))
                k = self.splice_in(pipe[1], min(left - piped, _PIPE_SIZE))
                if not k:
                    break
                piped += k
            self.low_water(1)
            tail = self.read_exact(left - piped) if piped < left else b""
        except BaseException:
            if pipe is not None:
                pipes.put(pipe, empty=False)
            raise
        return PipedPart(head, pipes, pipe, piped, tail)

    def low_water(self, n: int) -> None:
        """Wake the reader only once ``n`` bytes wait (SO_RCVLOWAT): one wake-up, and one
        call, for most of a part instead of one per packet that arrives."""
        if n != self.lowat:
            self.lowat = n
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, n)


class _Pipes:
    """The pipes of one stream: reused once their part is written, closed by the last user
    (parts may still wait in a writer queue when the stream is over)."""

    def __init__(self, most: int) -> None:
        self.free: list[tuple[int, int]] = []
        self.count = 0
        self.most = most
        self.closed = False
        self.lock = threading.Lock()

    def get(self) -> tuple[int, int] | None:
        with self.lock:
            if self.free:
                return self.free.pop()
            if self.count >= self.most:
                return None
            self.count += 1
        pipe = _pipe()
        if pipe is None:
            with self.lock:
                self.count -= 1
        return pipe

    def put(self, pipe: tuple[int, int], empty: bool) -> None:
        with self.lock:
            if empty and not self.closed:
                self.free.append(pipe)
                return
            self.count -= 1
        os.close(pipe[0])
        os.close(pipe[1])

    def close(self) -> None:
        with self.lock:
            self.closed = True
            free, self.free = self.free, []
            self.count -= len(free)
        for pipe_r, pipe_w in free:
            os.close(pipe_r)
            os.close(pipe_w)


class PipedPart:
    """A part whose body waits in a kernel pipe (and, when the pipe was full, in memory):
    :meth:`write_to` moves it to a file without going through user space.

    ``head`` is its first bytes (at least the File Meta group of a Part 10 file);
    ``len()`` is the body's length. A part dropped unwritten closes its pipe.
    """

    def __init__(
        self,
        head: bytes,
        pipes: _Pipes,
        pipe: tuple[int, int] | None,
        piped: int,
        tail: bytes | bytearray,
    ) -> None:
        self.head = head
        self._pipes = pipes
        self._pipe = pipe
        self._piped = piped
        self._tail = tail
        self._size = len(head) + piped + len(tail)
        self._done = False

    def __len__(self) -> int:
        return self._size

    def write_to(self, fd: int) -> int:
        """Write the whole part to the file ``fd`` (once); return its length."""
        self._start()
        empty = False
        try:
            _write_fully(fd, self.head)
            left = self._piped
            while left:
                assert self._pipe is not None
                k = os.splice(self._pipe[0], fd, left)  # a non-blocking pipe: never hangs
                if not k:
                    raise OSError(errno.EIO, "a piped part is shorter than its length")
                left -= k
            empty = True
            _write_fully(fd, self._tail)
        finally:
            self._release(empty)
        return self._size

    def read(self) -> bytes:
        """The whole part in memory (once)."""
        self._start()
        chunks = [self.head]
        empty = False
        try:
            left = self._piped
            while left:
                assert self._pipe is not None
                data = os.read(self._pipe[0], min(left, 1 << 20))
                if not data:
                    raise OSError(errno.EIO, "a piped part is shorter than its length")
                chunks.append(data)
                left -= len(data)
            empty = True
        finally:
            self._release(empty)
        chunks.append(bytes(self._tail))
        return b"".join(chunks)

    def __bytes__(self) -> bytes:
        return self.read()

    def _start(self) -> None:
        if self._done:
            raise RuntimeError("a piped part can be written or read only once")
        self._done = True

    def _release(self, empty: bool) -> None:
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            self._pipes.put(pipe, empty)

    def __del__(self) -> None:
        self._release(empty=False)


def _write_fully(fd: int, data: bytes | bytearray) -> None:
    with memoryview(data) as view:
        done = 0
        while done < len(view):
            done += os.write(fd, view[done:])


def _meta_end(buf: bytearray) -> int | None:
    """Where a Part 10 file's File Meta group ends, from its group length, if it has one."""
    if len(buf) >= 144 and buf[128:132] == b"DICM" and buf[132:138] == b"\x02\x00\x00\x00UL":
        return 144 + int.from_bytes(buf[140:144], "little")
    return None


def _pipe() -> tuple[int, int] | None:
    try:
        import fcntl

        pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    except (ImportError, OSError):
        return None
    with contextlib.suppress(OSError):  # a smaller pipe only means more calls
        fcntl.fcntl(pipe_w, _F_SETPIPE_SZ, _PIPE_SIZE)
    return pipe_r, pipe_w


def _headers(block: bytes) -> dict[str, str]:
    out = {}
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            out[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return out


def send_get(
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    where: str,
    tls: ssl.SSLContext | None = None,
) -> socket.socket:
    """Connect and send ``GET url`` (the answer is read by :func:`stream_parts`)."""
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
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        except OSError as exc:
            raise ArchiveError(f"{where}: connection lost: {exc}") from exc
    except BaseException:
        sock.close()
        raise
    return sock


def stream_parts(
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    where: str,
    tls: ssl.SSLContext | None = None,
    cancel: Any = None,
    live: bool = False,
    sent: socket.socket | None = None,
) -> Iterator[bytearray | PipedPart]:
    """GET ``url`` and yield each part body of its ``multipart/related`` answer.

    With ``live``, over plain HTTP where ``splice`` exists, parts come as
    :class:`PipedPart` (the body in a kernel pipe); otherwise as buffers. ``sent``:
    the socket :func:`send_get` already sent the request on (closed here).
    """
    from viewer.archive.dicomweb import _boundary

    sock = sent if sent is not None else send_get(url, headers, timeout, where, tls)
    pipes: _Pipes | None = None
    try:
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
        if live and _SPLICE and not isinstance(sock, ssl.SSLSocket):
            pipes = _Pipes(_PIPES)
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
            if pipes is None:
                yield reader.read_exact(int(length))
            else:
                yield reader.piped_part(int(length), pipes)
            tail = reader.read_until(b"\r\n")
            if tail == b"":  # CRLF ending the body, then the boundary line
                tail = reader.read_until(b"\r\n")
            if tail.rstrip() == first + b"--":
                return
            if tail.rstrip() != first:
                raise ProtocolError(f"{where}: a part is longer than its Content-Length")
    finally:
        sock.close()
        if pipes is not None:
            pipes.close()
