"""The audit journal: hash chain, tamper evidence, crash safety, retention."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.access.conftest import entry
from viewer.access.journal import AuditJournal, canonical, record_hash


def _fill(journal: AuditJournal, n: int = 10) -> None:
    for i in range(n):
        journal.append(entry(i))


def _raw(journal: AuditJournal) -> sqlite3.Connection:
    """A tamperer's connection: triggers dropped, records edited behind the journal's back."""
    journal.close()
    db = sqlite3.connect(journal.path, isolation_level=None)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("DROP TRIGGER records_no_delete")
    return db


def test_records_chain_to_each_other_and_verify(journal: AuditJournal) -> None:
    _fill(journal, 5)
    recs = list(journal.records())
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0].prev_hash == "0" * 64
    for a, b in itertools.pairwise(recs):
        assert b.prev_hash == a.hash
    # the hash is SHA-256 over the canonical encoding of the stored fields
    row = recs[2].to_dict()
    row["study_uids"] = '["1.2.3.2"]'
    row["series_uids"] = "[]"
    row["detail"] = "{}"
    assert record_hash(row) == recs[2].hash
    assert canonical(row).startswith(b'{"action":"view"')
    result = journal.verify()
    assert result.ok and result.count == 5


def test_append_only_triggers_refuse_update_and_delete(journal: AuditJournal) -> None:
    _fill(journal, 2)
    db = journal.connect()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE records SET user_id = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM records WHERE seq = 1")


def test_modified_record_is_named(journal: AuditJournal) -> None:
    _fill(journal)
    db = _raw(journal)
    db.execute("UPDATE records SET user_id = 'mallory@ws1' WHERE seq = 4")
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 4
    assert "altered" in result.problem


def test_modified_record_with_recomputed_hash_breaks_the_next_link(journal: AuditJournal) -> None:
    _fill(journal)
    db = _raw(journal)
    row = dict(zip(
        [c[1] for c in db.execute("PRAGMA table_info(records)")],
        db.execute("SELECT * FROM records WHERE seq = 6").fetchone(), strict=True))
    row["patient_id"] = "OTHER"
    db.execute("UPDATE records SET patient_id = ?, hash = ? WHERE seq = 6",
               ("OTHER", record_hash(row)))
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 7
    assert "does not follow" in result.problem


def test_deleted_record_is_named(journal: AuditJournal) -> None:
    _fill(journal)
    _raw(journal).execute("DELETE FROM records WHERE seq = 3")
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 3
    assert "missing" in result.problem


def test_reordered_records_are_named(journal: AuditJournal) -> None:
    _fill(journal)
    db = _raw(journal)
    # swap the contents of records 5 and 6 (their sequence numbers stay in place)
    db.execute("UPDATE records SET seq = -5 WHERE seq = 5")
    db.execute("UPDATE records SET seq = 5 WHERE seq = 6")
    db.execute("UPDATE records SET seq = 6 WHERE seq = -5")
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 5


def test_truncated_tail_is_named(journal: AuditJournal) -> None:
    _fill(journal)
    _raw(journal).execute("DELETE FROM records WHERE seq >= 8")
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 8
    assert "truncated" in result.problem


def test_truncated_tail_with_forged_head_fails_the_signature(
    journal: AuditJournal, memory_keyring: object
) -> None:
    j = AuditJournal(journal.path)
    _fill(j)
    db = _raw(j)
    db.execute("DELETE FROM records WHERE seq >= 8")
    last = db.execute("SELECT hash FROM records WHERE seq = 7").fetchone()[0]
    db.execute("UPDATE head SET seq = 7, hash = ?", (last,))
    result = AuditJournal(journal.path).verify()
    assert not result.ok and "signature" in result.problem


def test_binary_detail_is_refused(journal: AuditJournal) -> None:
    with pytest.raises(ValueError, match="binary"):
        journal.append(entry(detail={"pixels": b"\x00\x01"}))
    assert journal.count() == 0


def test_trail_holds_no_pixel_data(journal: AuditJournal) -> None:
    _fill(journal, 20)
    journal.close()
    for path in journal.path.parent.iterdir():
        # no DICOM preamble/magic nor pixel data tag (7FE0,0010) in any journal file
        data = path.read_bytes()
        assert b"DICM" not in data
        assert b"\xe0\x7f\x10\x00" not in data


def test_prune_keeps_the_chain_verifiable(journal: AuditJournal, memory_keyring: object) -> None:
    j = AuditJournal(journal.path)
    old = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(6):
        j.append(entry(i), now=old + timedelta(hours=i))
    for i in range(4):
        j.append(entry(10 + i))
    n = j.prune(183, entry(action="audit_prune"))
    assert n == 6
    assert j.verify().ok
    recs = list(j.records())
    assert [r.seq for r in recs] == [7, 8, 9, 10, 11]
    assert recs[-1].action == "audit_prune" and recs[-1].detail["pruned_through"] == 6
    # deleting one more record behind the checkpoint's back is caught
    _raw(j).execute("DELETE FROM records WHERE seq = 7")
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 7


def test_forged_checkpoint_is_caught(journal: AuditJournal) -> None:
    _fill(journal)
    db = _raw(journal)
    db.execute("DELETE FROM records WHERE seq <= 4")
    anchor = "f" * 64
    db.execute("INSERT INTO checkpoints (pruned_through, anchor, time, signature) "
               "VALUES (4, ?, 'x', '')", (anchor,))
    result = AuditJournal(journal.path).verify()
    assert not result.ok and result.first_bad == 5


_APPENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from viewer.access.journal import AuditJournal, AuditEntry
    j = AuditJournal(Path(sys.argv[1]), sign=False)
    for i in range(5000):
        rec = j.append(AuditEntry(user_id="jdoe@ws1", user_name="Dr Jane Doe",
                                  action="view", patient_id="P%d" % (i % 13),
                                  study_uids=("1.2.%d" % i,)))
        sys.stdout.write("%d\\n" % rec.seq)
        sys.stdout.flush()
""")


def test_kill_9_during_5000_appends_loses_no_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _APPENDER, str(path)],
                            stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None
    committed: list[int] = []
    for line in proc.stdout:
        committed.append(int(line))
        if len(committed) >= 700:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed += [int(x) for x in proc.stdout.read().split()]  # lines already written
    assert proc.returncode == -signal.SIGKILL
    j = AuditJournal(path, sign=False)
    seqs = [r.seq for r in j.records()]
    assert set(committed) <= set(seqs)
    assert len(seqs) < 5000  # it really was interrupted
    result = j.verify()
    assert result.ok, result
    assert result.count == len(seqs)


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from viewer.access.journal import AuditJournal, AuditEntry
    j = AuditJournal(Path(sys.argv[1]), sign=False)
    for i in range(150):
        j.append(AuditEntry(user_id=sys.argv[2], user_name="x", action="view"))
""")


def test_concurrent_processes_keep_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    AuditJournal(path, sign=False).connect()
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"user{n}@ws"],
                              cwd=root) for n in range(3)]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    j = AuditJournal(path, sign=False)
    result = j.verify()
    assert result.ok and result.count == 450, result
    users = [r.user_id for r in j.records()]
    assert {users.count(f"user{n}@ws") for n in range(3)} == {150}
