"""`regard audit show|verify|export|break-glass|whoami|flush` through the real dispatcher."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from lxml import etree

from tests.access.conftest import write_site, write_user
from tests.access.syslog_receiver import Receiver
from viewer.access import atna
from viewer.access.gate import AccessDenied, AccessGate, Action, PatientRef
from viewer.cli import main

P = PatientRef("IPP4242", "CHU-A", "279035121518989", "1.2.250.1.213.1.4.8", "QUAL")


def _history(home: Path) -> None:
    gate = AccessGate(forward=False)
    gate.authorize_and_record(Action.VIEW, patient=P, study_uids=["1.2.3"], archive="PACS")
    gate.authorize_and_record(Action.VIEW, patient=PatientRef("OTHER"), study_uids=["9.9"])
    gate.authorize_and_record(Action.RETRIEVE, study_uids=["1.2.4"], archive="PACS")
    write_user(home, '[user]\nrole = "referring_physician"\ndisplay_name = "Dr Paul Roux"\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.VIEW, patient=P, study_uids=["1.2.4"])
    gate.break_glass("stroke alert at the ER", 10, patient=P)
    gate.authorize_and_record(Action.VIEW, patient=P, study_uids=["1.2.4"])
    gate.journal.close()


def test_show_lists_who_accessed_a_patient(regard_home: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _history(regard_home)
    assert main(["audit", "show", "--patient", "IPP4242", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["accesses"]
    assert [(r["action"], r["outcome"], r["mode"]) for r in rows] == [
        ("view", "success", "normal"),
        ("retrieve", "success", "normal"),  # by Study UID, before the patient was known
        ("view", "denied", "normal"),
        ("break_glass_start", "success", "break_glass"),
        ("view", "success", "break_glass"),
    ]
    assert rows[-1]["user"] == "Dr Paul Roux" and rows[-1]["reason"] == "stroke alert at the ER"
    assert all(r["patient_id"] in ("IPP4242", "") for r in rows)
    # by INS too, and in text
    assert main(["audit", "show", "--patient", "279035121518989"]) == 0
    text = capsys.readouterr().out
    assert "BREAK-THE-GLASS" in text and "DENIED" in text and "Dr Paul Roux" in text
    assert "9.9" not in text
    # reading the trail is itself recorded
    last = list(AccessGate(forward=False).journal.records())[-1]
    assert (last.action, last.patient_id) == ("audit_log_used", "279035121518989")


def test_verify_names_the_first_broken_record(regard_home: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _history(regard_home)
    assert main(["audit", "verify"]) == 0
    assert "intact: 6 records" in capsys.readouterr().out
    db = sqlite3.connect(regard_home / "audit" / "journal.sqlite")
    db.execute("DROP TRIGGER records_no_update")
    db.execute("UPDATE records SET outcome = 'success' WHERE seq = 4")
    db.commit()
    db.close()
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "record 4" in err and err.count("\n") == 1
    assert main(["audit", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad"] == 4


def test_export_writes_one_valid_message_per_record(regard_home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _history(regard_home)
    out = tmp_path / "atna"
    assert main(["audit", "export", "--out", str(out)]) == 0
    files = sorted(out.glob("*.xml"))
    assert len(files) == 7  # 6 records + the export's own "audit log used"
    assert files[0].name == "00000001-view.xml"
    for f in files:
        atna.validate(f.read_bytes())
    ev = etree.parse(str(files[-1])).getroot().find("EventIdentification/EventID")
    assert ev.get("csd-code") == "110101"


def test_break_glass_and_whoami_commands(regard_home: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    write_user(regard_home, '[user]\nrole = "referring_physician"\ndisplay_name = "Dr Paul Roux"\n'
                            'rpps = "10000000042"\n')
    assert main(["audit", "whoami", "--json"]) == 0
    me = json.loads(capsys.readouterr().out)
    assert (me["display_name"], me["role"], me["rpps"]) == (
        "Dr Paul Roux", "referring_physician", "10000000042")
    assert main(["audit", "break-glass", "--patient", "IPP4242", "--issuer", "CHU-A",
                 "--reason", "cardiac arrest", "--minutes", "15"]) == 0
    assert "emergency access declared" in capsys.readouterr().out
    gate = AccessGate(forward=False)
    assert gate.authorize_and_record(Action.VIEW, patient=P).mode == "break_glass"
    write_user(regard_home, '[user]\nrole = "secretary"\n')
    assert main(["audit", "break-glass", "--patient", "X", "--reason", "please"]) == 1
    assert "cannot declare" in capsys.readouterr().err


def test_flush_sends_the_spool(regard_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rx = Receiver("tcp").start()
    try:
        write_site(regard_home, f'[audit]\nrepository = "tcp://127.0.0.1:{rx.port}"\n')
        gate = AccessGate(forward=False)
        for i in range(3):
            gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[f"1.{i}"])
        assert main(["audit", "flush"]) == 0
        assert rx.first_arrivals() == [1, 2, 3]
    finally:
        rx.stop()
    gate.authorize_and_record(Action.VIEW, patient=P)
    assert main(["audit", "flush", "--timeout", "1"]) == 1
    assert "still spooled" in capsys.readouterr().err


def test_no_journal_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 1
    assert "no audit journal" in capsys.readouterr().err
