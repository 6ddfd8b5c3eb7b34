"""Sending audit messages to an Audit Record Repository over syslog, through a durable spool.

Transport (IHE ATNA, RFC 5424 message format): PRI ``<85>`` (facility 10
security/authorization, severity 5 notice), version 1, the record's time,
host name, APP-NAME ``regard``, MSGID ``IHE+RFC-3881``, structured data
``[meta sequenceId="<journal seq>"]`` (RFC 5424 7.3.1) and the UTF-8 XML
(with a BOM, RFC 5424 6.4) as MSG. Over TCP and TLS (RFC 5425, port 6514)
each message is framed by octet counting (``LEN SP MSG``); over UDP (RFC 5426)
one message per datagram.

The spool is the journal itself: every committed record is a message to send,
and a per-repository cursor (``delivery`` table) says how far the repository
has them. While the repository is unreachable nothing is lost: messages wait in
the journal and go out in order when it is back. Syslog has no application
acknowledgement, so a message counts as delivered only when the peer's TCP has
acknowledged its bytes (Linux ``SIOCOUTQ`` drained) and the connection was
still healthy ``confirm_delay`` seconds later; anything not confirmed is sent
again on the next connection. A receiver therefore sees each message at least
once, in order, and removes repeats by ``sequenceId`` (exactly-once-ish).
Over UDP delivery is best effort (no acknowledgement exists).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import select
import socket
import ssl
import struct
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from viewer.access.atna import message_bytes
from viewer.access.journal import AuditJournal, AuditRecord

log = logging.getLogger(__name__)

PRI = "<85>"  # facility 10 (security/authorization) * 8 + severity 5 (notice)
MSGID = "IHE+RFC-3881"
APP_NAME = "regard"
BOM = b"\xef\xbb\xbf"
UDP_MAX = 65507
DEFAULT_PORTS = {"udp": 514, "tcp": 6514, "tls": 6514}


class RepositoryError(ValueError):
    """The repository address or TLS settings are wrong; the message names them."""


@dataclass(frozen=True)
class Repository:
    scheme: str  # udp | tcp | tls
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Repository:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise RepositoryError(
                f"audit repository {url!r}: expected udp://host:port, tcp://host:port "
                "or tls://host:port"
            )
        return cls(parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def syslog_message(record: AuditRecord, *, hostname: str = "", site_id: str = "") -> bytes:
    """One RFC 5424 message carrying the record's DICOM audit message."""
    host = (hostname or record.workstation or socket.gethostname() or "-").replace(" ", "_")
    header = f"{PRI}1 {record.time} {host[:255]} {APP_NAME} - {MSGID} "
    sd = f'[meta sequenceId="{record.seq}"] '
    return (header + sd).encode("ascii", "replace") + BOM + message_bytes(record, site_id=site_id)


def octet_frame(msg: bytes) -> bytes:
    """RFC 5425 4.3 / RFC 6587 3.4.1 octet-counting frame."""
    return str(len(msg)).encode("ascii") + b" " + msg


def _unacked_bytes(sock: socket.socket) -> int:
    """Bytes sent but not yet acknowledged by the peer's TCP (Linux SIOCOUTQ)."""
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    return int(struct.unpack("i", buf)[0])


class SyslogSender:
    """One connection to the repository (UDP, TCP or TLS)."""

    def __init__(self, repo: Repository, ssl_context: ssl.SSLContext | None = None,
                 timeout: float = 5.0) -> None:
        self.repo = repo
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def connect(self) -> None:
        if self.repo.scheme == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.connect((self.repo.host, self.repo.port))
            self.sock = sock
            return
        raw = socket.create_connection((self.repo.host, self.repo.port), timeout=self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.repo.scheme == "tls":
            ctx = self.ssl_context or ssl.create_default_context()
            try:
                raw = ctx.wrap_socket(raw, server_hostname=self.repo.host)
            except (ssl.SSLError, OSError):
                raw.close()
                raise
        self.sock = raw

    def healthy(self) -> bool:
        """False if the peer closed or reset the connection (a syslog peer never writes)."""
        if self.sock is None:
            return False
        if self.repo.scheme == "udp":
            return True
        try:
            readable, _, errored = select.select([self.sock], [], [self.sock], 0)
            if errored or self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                return False
            if not readable:
                return True
            # Readable: end of stream, or (TLS 1.3) a session ticket that is not app data.
            timeout = self.sock.gettimeout()
            self.sock.setblocking(False)
            try:
                return self.sock.recv(4096) != b""
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return True
            finally:
                self.sock.settimeout(timeout)
        except (OSError, ValueError):
            return False

    def send(self, messages: list[bytes]) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        if self.repo.scheme == "udp":
            for msg in messages:
                if len(msg) > UDP_MAX:
                    log.error("audit message of %d bytes too large for UDP; use tcp/tls",
                              len(msg))
                    continue
                self.sock.send(msg)
            return
        self.sock.sendall(b"".join(octet_frame(m) for m in messages))

    def wait_acknowledged(self, timeout: float) -> bool:
        """Wait until the peer's TCP acknowledged every byte we sent (and is still there)."""
        if self.sock is None:
            return False
        if self.repo.scheme == "udp":
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if _unacked_bytes(self.sock) == 0:
                    return self.healthy()
            except OSError:
                return False
            time.sleep(0.005)
        return False

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


def ssl_context_from(audit: dict[str, Any]) -> ssl.SSLContext:
    """TLS 1.2+ client context with the site's CA and optional client certificate (ATNA)."""
    ctx = ssl.create_default_context(cafile=audit.get("ca_file") or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert = audit.get("cert_file")
    if cert:
        try:
            ctx.load_cert_chain(cert, audit.get("key_file") or None)
        except (OSError, ssl.SSLError) as exc:
            raise RepositoryError(f"audit client certificate {cert}: {exc}") from exc
    return ctx


class AuditForwarder:
    """Sends the journal's records to one repository, in order, none lost."""

    def __init__(
        self,
        journal_path: Path,
        repository: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        site_id: str = "",
        confirm_delay: float = 1.0,
        batch: int = 200,
        connect_timeout: float = 2.0,
    ) -> None:
        self.journal_path = Path(journal_path)
        self.repo = Repository.parse(repository)
        self.ssl_context = ssl_context
        self.site_id = site_id
        self.confirm_delay = confirm_delay
        self.batch = batch
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._sender: SyslogSender | None = None
        self._unconfirmed: list[tuple[int, float]] = []  # (seq, monotonic time sent)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._next_try = 0.0

    @classmethod
    def from_policy(cls, policy: Any, journal_path: Path) -> AuditForwarder:
        audit = dict(policy.audit)
        repo = Repository.parse(policy.repository)
        ctx = ssl_context_from(audit) if repo.scheme == "tls" else None
        return cls(journal_path, policy.repository, ssl_context=ctx, site_id=policy.site_id)

    def _journal(self) -> AuditJournal:
        j = getattr(self._local, "journal", None)
        if j is None:
            j = AuditJournal(self.journal_path, sign=False)
            self._local.journal = j
        return j

    # -- one round ---------------------------------------------------------------
    def flush(self) -> int:
        """Send what is pending; return how many messages went out (0 if unreachable)."""
        with self._lock:
            journal = self._journal()
            if self._sender is not None and not self._sender.healthy():
                self._drop_connection("the repository closed the connection")
            self._confirm(journal)
            if time.monotonic() < self._next_try:
                return 0
            start = max([journal.sent_seq(self.repo.url)] + [s for s, _ in self._unconfirmed])
            records = list(journal.records(after_seq=start, limit=self.batch))
            if not records:
                return 0
            try:
                if self._sender is None:
                    self._sender = SyslogSender(self.repo, self.ssl_context,
                                                self.connect_timeout)
                    self._sender.connect()
                msgs = [syslog_message(r, site_id=self.site_id) for r in records]
                self._sender.send(msgs)
            except OSError as exc:
                self._drop_connection(str(exc))
                self._backoff = min(30.0, max(0.2, self._backoff * 2))
                self._next_try = time.monotonic() + self._backoff
                return 0
            self._backoff = 0.0
            now = time.monotonic()
            self._unconfirmed += [(r.seq, now) for r in records]
            if self.repo.scheme == "udp":
                self._confirm(journal, force=True)
            return len(records)

    def _confirm(self, journal: AuditJournal, force: bool = False) -> None:
        if not self._unconfirmed or self._sender is None:
            return
        if not force and not self._sender.wait_acknowledged(timeout=0.5):
            return
        now = time.monotonic()
        done = [s for s, t in self._unconfirmed if force or now - t >= self.confirm_delay]
        if done:
            journal.mark_sent(self.repo.url, max(done))
            self._unconfirmed = [(s, t) for s, t in self._unconfirmed if s > max(done)]

    def _drop_connection(self, why: str) -> None:
        if self._sender is not None:
            log.info("audit repository %s: %s; messages stay spooled", self.repo.url, why)
            self._sender.close()
            self._sender = None
        self._unconfirmed = []  # not confirmed: sent again on the next connection

    def pending(self) -> int:
        """Records not yet confirmed as delivered."""
        journal = self._journal()
        return sum(1 for _ in journal.records(after_seq=journal.sent_seq(self.repo.url)))

    # -- background delivery -------------------------------------------------------
    def kick(self) -> None:
        """Wake the background thread (starting it on first use)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-forwarder",
                                            daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.flush()
            except Exception as exc:  # never kill the thread; the journal keeps everything
                log.warning("audit forwarding: %s", exc)
                sent = 0
            busy = sent or self._unconfirmed
            self._wake.wait(0.05 if busy else 1.0)
            self._wake.clear()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None

    def drain(self, timeout: float = 2.0) -> None:
        """Best effort before exit: send what is pending (confirmation waits for next time)."""
        self.stop(timeout)
        deadline = time.monotonic() + timeout
        with self._lock:
            self._next_try = 0.0
            self.connect_timeout = min(self.connect_timeout, max(0.2, timeout / 2))
            while time.monotonic() < deadline and self.flush():
                pass
            if self._sender is not None:
                self._sender.wait_acknowledged(max(0.0, deadline - time.monotonic()))
                self._sender.close()
                self._sender = None

    def drain_at_exit(self, timeout: float = 2.0) -> None:
        atexit.register(self._drain_quietly, timeout)

    def _drain_quietly(self, timeout: float) -> None:
        try:
            self.drain(timeout)
        except Exception as exc:  # at exit: the journal keeps everything for next time
            log.warning("audit repository %s: not drained at exit: %s", self.repo.url, exc)


_SHARED: dict[tuple[str, str], AuditForwarder] = {}
_SHARED_LOCK = threading.Lock()


def shared_forwarder(policy: Any, journal_path: Path) -> AuditForwarder:
    """One forwarder per (journal, repository) in a process, drained once at exit."""
    key = (str(Path(journal_path).resolve()), str(policy.repository))
    with _SHARED_LOCK:
        fwd = _SHARED.get(key)
        if fwd is None:
            fwd = AuditForwarder.from_policy(policy, journal_path)
            fwd.drain_at_exit()
            _SHARED[key] = fwd
        return fwd
