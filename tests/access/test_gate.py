"""The access gate: decide, record before returning, fail closed."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.access.conftest import write_site, write_user
from viewer.access.gate import (
    AccessDenied,
    AccessGate,
    Action,
    AuditUnavailable,
    PatientRef,
)
from viewer.access.journal import AuditJournal

ROOT = Path(__file__).resolve().parents[2]
P = PatientRef("IPP4242", "CHU-A", "279035121518989", "1.2.250.1.213.1.4.8", "QUAL")
STUDY = "1.2.826.0.1.3680043.8.498.1"


def test_view_is_committed_before_the_gate_returns(gate: AccessGate) -> None:
    d = gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY],
                                  series_uids=[STUDY + ".1"], archive="PACS",
                                  screen_fitness={"screen": "2MP", "fit": True})
    assert d.mode == "normal"
    # a separate connection (another process would see the same) finds it committed
    other = AuditJournal(gate.journal.path)
    (rec,) = list(other.records(patient="IPP4242"))
    assert (rec.action, rec.outcome, rec.ins, rec.study_uids, rec.archive) == (
        "view", "success", P.ins, (STUDY,), "PACS")
    assert rec.user_id == gate.current_user().user_id
    assert '"fit": true' in rec.screen_fitness
    assert other.verify().ok


def test_denial_is_recorded_and_raised(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "referring_physician"\ndisplay_name = "Dr Paul Roux"\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied, match="care relationship") as err:
        gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY])
    assert err.value.record is not None
    (rec,) = list(gate.journal.records())
    assert (rec.outcome, rec.action, rec.patient_id) == ("denied", "view", "IPP4242")
    assert "care relationship" in rec.detail["denied"]


def test_care_relationship_by_patient_list_or_referring_physician(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "referring_physician"\ndisplay_name = "Dr Paul Roux"\n'
                            'rpps = "10000000042"\n')
    gate = AccessGate(forward=False)
    assert gate.authorize_and_record(Action.VIEW, patient=P,
                                     referring_physicians=["ROUX^PAUL^^Dr"]).mode == "normal"
    assert gate.authorize_and_record(Action.VIEW, patient=P,
                                     referring_physicians=["10000000042^ROUX"]).mode == "normal"
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.VIEW, patient=P, referring_physicians=["DUPONT^JEAN"])
    gate.declare_care_relationship(PatientRef("IPP4242", "CHU-A"), "new patient in my clinic")
    assert gate.authorize_and_record(Action.VIEW, patient=P).mode == "normal"
    # another process sees the declaration (it lives in the journal, not in a side file)
    assert AccessGate(forward=False).authorize_and_record(Action.VIEW, patient=P).mode == "normal"


def test_care_lists_from_configuration_and_site_control(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "referring_physician"\npatients = ["IPP4242^CHU-A"]\n')
    assert AccessGate(forward=False).authorize_and_record(Action.VIEW, patient=P)
    # a site that keeps care relationships to itself ignores the user's list and declarations
    write_site(regard_home, '[access]\ncare_self_declared = false\n'
                            '[user]\npatients = ["INS:111111111111111"]\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.VIEW, patient=P)
    with pytest.raises(AccessDenied, match="does not let"):
        gate.declare_care_relationship(P)
    assert gate.authorize_and_record(
        Action.VIEW, patient=PatientRef("X", ins="111111111111111")).mode == "normal"
    write_user(regard_home, '[user]\nrole = "technologist"\n')
    with pytest.raises(AccessDenied, match="only clinicians"):
        AccessGate(forward=False).declare_care_relationship(P)


def test_break_the_glass_is_time_limited_and_marked(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "referring_physician"\n')
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    gate = AccessGate(forward=False, clock=lambda: now[0])
    with pytest.raises(ValueError, match="reason"):
        gate.break_glass("", 10, patient=P)
    bg = gate.break_glass("unconscious patient at the ER", 600, patient=P)
    assert bg.until == now[0] + timedelta(minutes=60)  # capped by policy
    d = gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY])
    assert d.mode == "break_glass"
    assert d.record.reason == "unconscious patient at the ER"
    # another process (a new gate on the same journal) sees the running emergency
    assert AccessGate(forward=False, clock=lambda: now[0]).active_break_glass(P) is not None
    # it does not cover another patient, nor export
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.VIEW, patient=PatientRef("OTHER", "CHU-A"))
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.EXPORT, patient=P)
    now[0] += timedelta(minutes=61)
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.VIEW, patient=P)
    actions = [(r.action, r.mode, r.outcome) for r in gate.journal.records()]
    assert actions[0] == ("break_glass_start", "break_glass", "success")
    assert ("view", "break_glass", "success") in actions
    assert ("break_glass_end", "break_glass", "success") in actions
    assert actions[-1] == ("view", "normal", "denied")


def test_only_clinicians_break_the_glass(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "secretary"\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied, match="emergency"):
        gate.break_glass("please let me in", 10, patient=P)
    (rec,) = list(gate.journal.records())
    assert (rec.action, rec.outcome) == ("break_glass_start", "denied")


def test_opposition_denial_says_why(regard_home: Path) -> None:
    write_site(regard_home, '[access]\nsite_id = "CHU-A"\nopposition = ["INS:279035121518989"]\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied, match="opposed sharing"):
        gate.authorize_and_record(Action.VIEW, patient=P, origin_site="CLINIC-B")
    gate.authorize_and_record(Action.VIEW, patient=P, origin_site="CHU-A")
    assert [r.outcome for r in gate.journal.records()] == ["denied", "success"]


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make the journal folder and files read-only, for real, even for root."""
    paths = [folder, *folder.iterdir()]
    if os.geteuid() != 0:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p in paths:
                p.chmod(0o755 if p.is_dir() else 0o644)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a folder read-only")
    made = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i refused here: {made.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_read_only_journal_fails_closed(gate: AccessGate) -> None:
    gate.authorize_and_record(Action.VIEW, patient=P)
    gate.journal.close()
    with read_only(gate.journal.path.parent):
        fresh = AccessGate(forward=False)
        with pytest.raises(AuditUnavailable) as err:
            fresh.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY])
        fresh.journal.close()
    msg = str(err.value)
    assert str(gate.journal.path) in msg and "nothing is opened" in msg
    assert AuditJournal(gate.journal.path).count() == 1


_FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from viewer.access.gate import AccessGate, Action, AuditUnavailable, PatientRef
    gate = AccessGate(forward=False)
    gate.journal.connect()
    gate.authorize_and_record(Action.VIEW, patient=PatientRef("IPP1"))
    if sys.argv[1] == "rlimit":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        size = gate.journal.path.with_name("journal.sqlite-wal").stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    else:
        with open(gate.journal.path.with_name("filler"), "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"x" * 4096)
            except OSError:
                pass
    try:
        gate.authorize_and_record(Action.VIEW, patient=PatientRef("IPP1"), study_uids=["1.2"])
    except AuditUnavailable as exc:
        print(exc)
        sys.exit(3)
    print("OPENED")
""")


def test_full_disk_fails_closed_file_size_limit(regard_home: Path) -> None:
    run = subprocess.run([sys.executable, "-c", _FULL_DISK, "rlimit"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "cannot write to the audit journal" in run.stdout
    assert "OPENED" not in run.stdout
    assert AuditJournal(regard_home / "audit" / "journal.sqlite").verify().ok


def test_full_disk_fails_closed_on_a_full_filesystem(regard_home: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs")
    audit = regard_home / "audit"
    audit.mkdir()
    script = (f'mount -t tmpfs -o size=256k tmpfs "{audit}" && '
              f'exec "{sys.executable}" -c "$0" tmpfs')
    run = subprocess.run(["unshare", "-m", "sh", "-c", script, _FULL_DISK], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    if "mount" in run.stderr and run.returncode not in (0, 3):
        pytest.skip(f"cannot mount tmpfs here: {run.stderr.strip()}")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "the disk is full" in run.stdout or "refused the write" in run.stdout


def test_application_logs_carry_no_patient_identifiers(
    regard_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_site(regard_home, '[access]\nsite_id = "CHU-A"\nopposition = ["IPP-OPPOSED"]\n'
                            '[audit]\nrepository = "tcp://127.0.0.1:9"\n')
    with caplog.at_level(logging.DEBUG):
        gate = AccessGate()
        gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY])
        with pytest.raises(AccessDenied):
            gate.authorize_and_record(Action.VIEW, patient=PatientRef("IPP-OPPOSED", "CHU-A"))
        gate.break_glass("cardiac arrest", 5, patient=P)
        gate._forwarder.drain(timeout=1.0)
    text = caplog.text
    for ident in ("IPP4242", "279035121518989", "IPP-OPPOSED", "cardiac arrest"):
        assert ident not in text


def test_retention_prunes_old_records_and_keeps_the_chain(regard_home: Path) -> None:
    from viewer.access import gate as gate_module

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    now = [t0]
    g = AccessGate(forward=False, clock=lambda: now[0])
    for _ in range(5):
        g.authorize_and_record(Action.VIEW, patient=P)
    now[0] = t0 + timedelta(days=100)
    g.authorize_and_record(Action.VIEW, patient=P)
    gate_module._PRUNE_CHECKED.clear()  # a new process, 200 days after the first records
    now[0] = t0 + timedelta(days=200)
    g2 = AccessGate(forward=False, clock=lambda: now[0])
    g2.authorize_and_record(Action.VIEW, patient=P)
    recs = list(g2.journal.records())
    assert [r.seq for r in recs] == [6, 7, 8]
    assert recs[1].action == "audit_prune" and recs[1].detail["pruned"] == 5
    assert g2.journal.verify().ok


def test_shared_station_login_idle_lock_and_logout(regard_home: Path) -> None:
    from viewer.access.identity import IdentityError, LocalAccountProvider, SessionLocked

    accounts = LocalAccountProvider()
    accounts.add_account("cmartin", "a long passphrase", role="radiologist",
                         display_name="Dr Claire Martin", scrypt_n=2**12)
    g = AccessGate(forward=False)
    with pytest.raises(IdentityError):
        g.login(accounts, "cmartin", "not the passphrase")
    user = g.login(accounts, "cmartin", "a long passphrase")
    assert g.current_user() == user
    g.authorize_and_record(Action.VIEW, patient=P)
    assert g.session is not None
    g.session._last -= 16 * 60  # 16 idle minutes (policy: 15)
    with pytest.raises(SessionLocked):
        g.authorize_and_record(Action.VIEW, patient=P)
    g.login(accounts, "cmartin", "a long passphrase")
    g.authorize_and_record(Action.VIEW, patient=P)
    g.logout()
    rows = [(r.action, r.outcome, r.user_id.split("@")[0]) for r in g.journal.records()]
    assert rows == [
        ("login", "failure", "cmartin"), ("login", "success", "cmartin"),
        ("view", "success", "cmartin"), ("login", "success", "cmartin"),
        ("view", "success", "cmartin"), ("logout", "success", "cmartin"),
    ]


def test_another_user_takes_a_locked_station(regard_home: Path) -> None:
    from viewer.access.identity import LocalAccountProvider

    accounts = LocalAccountProvider()
    for login, name in (("cmartin", "Dr Claire Martin"), ("proux", "Dr Paul Roux")):
        accounts.add_account(login, "a long passphrase", role="radiologist", display_name=name,
                             scrypt_n=2**12)
    g = AccessGate(forward=False)
    g.login(accounts, "cmartin", "a long passphrase")
    assert g.session is not None
    g.session._last -= 16 * 60
    g.login(accounts, "proux", "a long passphrase")
    assert g.current_user().display_name == "Dr Paul Roux"
    rows = [(r.action, r.user_name) for r in g.journal.records()]
    assert rows == [("login", "Dr Claire Martin"), ("logout", "Dr Claire Martin"),
                    ("login", "Dr Paul Roux")]
