"""Delivery to an Audit Record Repository: real syslog receivers on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.access.conftest import write_site
from tests.access.syslog_receiver import (
    Receiver,
    make_pki,
    sequence_id,
    server_context,
)
from viewer.access import atna
from viewer.access.gate import AccessGate, Action, PatientRef
from viewer.access.policy import AccessPolicy
from viewer.access.syslog import BOM, AuditForwarder, Repository, RepositoryError

P = PatientRef("IPP4242", "CHU-A")


@pytest.fixture
def pki(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


def _configure(home: Path, scheme: str, port: int, pki=None) -> None:  # type: ignore[no-untyped-def]
    text = f'[access]\nsite_id = "CHU-A"\n[audit]\nrepository = "{scheme}://127.0.0.1:{port}"\n'
    if pki is not None:
        text += (f'ca_file = "{pki.ca}"\ncert_file = "{pki.client_cert}"\n'
                 f'key_file = "{pki.client_key}"\n')
    write_site(home, text)


def _views(gate: AccessGate, n: int) -> None:
    for i in range(n):
        gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[f"1.2.3.{i}"])


def _pump(fwd: AuditForwarder, done: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fwd.flush()
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("audit forwarding did not finish in time")


def test_repository_addresses_are_checked() -> None:
    assert Repository.parse("tls://arr.example:6514").port == 6514
    assert Repository.parse("udp://arr.example").port == 514
    with pytest.raises(RepositoryError, match="expected udp"):
        Repository.parse("http://arr.example")


def test_message_format_rfc5424(regard_home: Path, receivers: list[Receiver]) -> None:
    rx = Receiver("tcp").start()
    receivers.append(rx)
    _configure(regard_home, "tcp", rx.port)
    gate = AccessGate(forward=False)
    _views(gate, 1)
    fwd = AuditForwarder.from_policy(AccessPolicy.load(), gate.journal.path)
    _pump(fwd, lambda: rx.wait_for(1, 0))
    fwd.stop()
    (msg,) = rx.snapshot()
    head, _, body = msg.partition(BOM)
    # <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD
    pri, ts, host, app, procid, msgid, sd = head.decode().split(" ", 6)
    assert pri == "<85>1"  # facility 10 x 8 + severity 5, version 1
    assert ts.endswith("+00:00") and host == gate.workstation
    assert (app, procid, msgid) == ("regard", "-", "IHE+RFC-3881")
    assert sd.strip() == '[meta sequenceId="1"]'
    atna.validate(body)


@pytest.mark.parametrize("scheme", ["tcp", "tls"])
def test_repository_down_then_back_none_lost_in_order(
    scheme: str, regard_home: Path, receivers: list[Receiver], pki  # type: ignore[no-untyped-def]
) -> None:
    ctx = server_context(pki) if scheme == "tls" else None
    rx = Receiver(scheme, ctx).start()
    receivers.append(rx)
    _configure(regard_home, scheme, rx.port, pki if scheme == "tls" else None)
    gate = AccessGate(forward=False)
    fwd = AuditForwarder.from_policy(AccessPolicy.load(), gate.journal.path)
    fwd.confirm_delay = 0.2
    _views(gate, 20)
    _pump(fwd, lambda: fwd.pending() == 0)
    assert rx.first_arrivals() == list(range(1, 21))

    rx.stop()  # the mobile unit leaves the hospital network
    _views(gate, 30)
    t_end = time.monotonic() + 1.0
    while time.monotonic() < t_end:
        fwd.flush()
        time.sleep(0.05)
    assert fwd.pending() == 30  # all spooled in the journal, none confirmed
    assert len(set(rx.first_arrivals())) <= 50

    rx.start()  # same port: the repository is reachable again
    _pump(fwd, lambda: fwd.pending() == 0, timeout=40)
    fwd.stop()
    firsts = rx.first_arrivals()
    assert firsts == list(range(1, 51)), firsts  # in order, none lost
    # repeats (if any) are byte-identical re-sends the repository drops by sequenceId
    msgs = rx.snapshot()
    by_seq: dict[int, bytes] = {}
    for m in msgs:
        assert by_seq.setdefault(sequence_id(m), m) == m
    # once confirmed, nothing is sent again (a new process starts after the cursor)
    before = len(rx.snapshot())
    again = AuditForwarder.from_policy(AccessPolicy.load(), gate.journal.path)
    assert again.flush() == 0 and again.pending() == 0
    again.stop()
    time.sleep(0.1)
    assert len(rx.snapshot()) == before


def test_repository_crash_mid_batch_loses_nothing(
    regard_home: Path, receivers: list[Receiver]
) -> None:
    rx = Receiver("tcp", drop_after=7).start()  # reads 7 messages then resets the connection
    receivers.append(rx)
    _configure(regard_home, "tcp", rx.port)
    gate = AccessGate(forward=False)
    _views(gate, 40)
    fwd = AuditForwarder.from_policy(AccessPolicy.load(), gate.journal.path)
    fwd.confirm_delay = 0.2
    _pump(fwd, lambda: fwd.pending() == 0)
    fwd.stop()
    assert rx.first_arrivals() == list(range(1, 41))  # none lost, in order
    by_seq: dict[int, bytes] = {}
    for m in rx.snapshot():  # the unconfirmed part was sent again, identically
        assert by_seq.setdefault(sequence_id(m), m) == m
    assert len(rx.snapshot()) > 40


def test_tls_refuses_an_unknown_repository(
    regard_home: Path, receivers: list[Receiver], tmp_path: Path, pki  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other")
    rx = Receiver("tls", server_context(other)).start()  # certificate from another CA
    receivers.append(rx)
    _configure(regard_home, "tls", rx.port, pki)
    gate = AccessGate(forward=False)
    _views(gate, 3)
    fwd = AuditForwarder.from_policy(AccessPolicy.load(), gate.journal.path)
    assert fwd.flush() == 0
    fwd.stop()
    assert rx.snapshot() == [] and fwd.pending() == 3


def test_udp_delivery(regard_home: Path, receivers: list[Receiver]) -> None:
    rx = Receiver("udp").start()
    receivers.append(rx)
    _configure(regard_home, "udp", rx.port)
    gate = AccessGate(forward=False)
    _views(gate, 10)
    fwd = AuditForwarder.from_policy(AccessPolicy.load(), gate.journal.path)
    _pump(fwd, lambda: rx.wait_for(10, 0))
    fwd.stop()
    assert rx.first_arrivals() == list(range(1, 11))
    assert len(rx.snapshot()) == 10
    for m in rx.snapshot():
        atna.validate(m.partition(BOM)[2])


def test_gate_forwards_in_the_background(regard_home: Path, receivers: list[Receiver]) -> None:
    rx = Receiver("tcp").start()
    receivers.append(rx)
    _configure(regard_home, "tcp", rx.port)
    gate = AccessGate()  # forwarding on: the gate wakes a background sender
    _views(gate, 5)
    assert rx.wait_for(5, timeout=10)
    gate._forwarder.stop()
    assert rx.first_arrivals() == [1, 2, 3, 4, 5]
