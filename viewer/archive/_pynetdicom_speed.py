"""Make pynetdicom's upper layer event-driven instead of polling (PLATFORM.md: per-message cost).

pynetdicom 3's DUL reactor thread polls: when nothing is ready it sleeps
``_run_loop_delay`` (1 ms, in practice 0.1-1 ms more on a loaded machine) and
checks again. A C-GET sub-operation is a round trip (C-STORE-RQ in, C-STORE-RSP
out, PS3.4 C.4.3.3), so each instance pays several of these sleeps: measured
here, 2.7 s of a 5.4 s C-GET of 600 CT images was spent sleeping, and socket
reads of 4 KiB each were another 0.6 s.

This module swaps in a reactor that waits in ``select()`` on the association
socket *and* on a wake-up socket signalled when the service user queues a
primitive to send, so it reacts at once to either side without spinning, and
reads PDUs with ``recv_into`` in large chunks. The loop is pynetdicom 3.0's own,
only its idle wait differs; with another major version nothing is changed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import ssl
import time
from typing import Any

log = logging.getLogger(__name__)

_IDLE_WAIT = 0.01  # seconds: upper bound on reacting to timers and state changes
_RECV_CHUNK = 1 << 20
_installed = False


class _WakingQueue(queue.Queue):  # type: ignore[type-arg]
    """A queue that pokes the reactor when something is put in it."""

    def __init__(self, wake: socket.socket) -> None:
        super().__init__()
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        with contextlib.suppress(OSError):
            self._wake.send(b"\0")


def _fast_recv(self: Any, nr_bytes: int) -> bytearray:
    """``AssociationSocket.recv``: read exactly ``nr_bytes`` (less if the peer closes)."""
    buf = bytearray(nr_bytes)
    view = memoryview(buf)
    got = 0
    while got < nr_bytes:
        n = self.socket.recv_into(view[got:], min(nr_bytes - got, _RECV_CHUNK))
        if not n:
            del view
            return buf[:got]
        got += n
    return buf


def _make_dul_class(base: type) -> type:
    from pynetdicom.pdu import A_ABORT_RQ

    class FastDUL(base):  # type: ignore[valid-type, misc]
        """pynetdicom's DUL with a select()-based idle wait."""

        def __init__(self, assoc: Any) -> None:
            super().__init__(assoc)
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self.to_provider_queue = _WakingQueue(self._wake_w)

        def _idle_wait(self) -> None:
            transport = self.socket
            sock = getattr(transport, "socket", None)
            if sock is None or not getattr(transport, "_is_connected", False):
                time.sleep(0.0005)
                return
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return
            try:
                ready, _, _ = select.select([sock, self._wake_r], [], [], _IDLE_WAIT)
            except (OSError, ValueError):
                time.sleep(0.0005)
                return
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    while self._wake_r.recv(4096):
                        pass

        def run_reactor(self) -> None:
            try:
                self._run_reactor()
            finally:
                self._wake_r.close()
                self._wake_w.close()

        def _run_reactor(self) -> None:
            # pynetdicom 3.0 DULServiceProvider.run_reactor, idle sleep replaced.
            self._idle_timer.start()
            sleep = False
            while True:
                if not self.assoc._dul_ready.is_set():
                    self.assoc._dul_ready.set()
                    sleep = True
                if sleep:
                    self._idle_wait()
                if self._kill_thread:
                    break
                if self.artim_timer.expired:
                    self.event_queue.put("Evt18")
                try:
                    if self._process_recv_primitive():
                        pass
                    elif self._is_transport_event():
                        self._idle_timer.restart()
                except Exception as exc:
                    log.error("Exception in the DICOM upper layer, aborting association: %s", exc)
                    abort_pdu = A_ABORT_RQ()
                    abort_pdu.source = 0x02
                    abort_pdu.reason_diagnostic = 0x00
                    with contextlib.suppress(Exception):
                        self.socket.send(abort_pdu.encode())
                    self.assoc.is_aborted = True
                    self.assoc.is_established = False
                    self.assoc._kill = True
                    self._kill_thread = True
                    return
                try:
                    event = self.event_queue.get(block=False)
                except queue.Empty:
                    sleep = True
                    continue
                self.state_machine.do_action(event)
                sleep = False

    return FastDUL


def install() -> bool:
    """Use the event-driven reactor and large reads for every new association (idempotent)."""
    global _installed
    if _installed:
        return True
    import pynetdicom
    from pynetdicom import association, dul, transport

    if not pynetdicom.__version__.startswith("3.0"):
        log.info("pynetdicom %s: speed patch not applied", pynetdicom.__version__)
        return False
    association.DULServiceProvider = _make_dul_class(dul.DULServiceProvider)
    transport.AssociationSocket.recv = _fast_recv
    _installed = True
    return True
