"""The access-trail dialog shows what ``regard audit show --patient`` prints; verify works.

Oracle: the ``regard audit`` command itself, run as a separate process on the
same REGARD_HOME (its JSON output and its verify exit status). The trail is
written by the real access gate: a normal view, a refusal, and an emergency
access (break-the-glass) by a referring physician.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from viewer.access.gate import AccessDenied, AccessGate, Action, PatientRef
from viewer.access.journal import AuditJournal

pytestmark = pytest.mark.gui

PATIENT = PatientRef(id="PAT-AUD-7", issuer="CHU-A")
OTHER = PatientRef(id="PAT-OTHER")
STUDY = "1.2.826.0.1.3680043.99.7"


def regard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "viewer.cli", *args], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))


@pytest.fixture
def trail(regard_home: Path) -> AccessGate:
    """A radiologist's view, then a referring physician refused, then breaking the glass."""
    site = regard_home / "site-config.toml"
    site.write_text('[user]\ndisplay_name = "Dr Claire Martin"\n')
    radiologist = AccessGate(forward=False)
    radiologist.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=[STUDY],
                                     archive="PACS", screen_fitness={"screen_class": "2MP"})
    radiologist.authorize_and_record(Action.VIEW, patient=OTHER, study_uids=["9.9"])
    site.write_text('[user]\ndisplay_name = "Dr Paul Urgence"\nrole = "referring_physician"\n')
    clinician = AccessGate(forward=False)
    with pytest.raises(AccessDenied):
        clinician.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=[STUDY])
    clinician.break_glass("patient unconscious in the ER", 30, patient=PATIENT)
    clinician.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=[STUDY],
                                   archive="PACS")
    return clinician


def table_text(dialog, row: int, col: int) -> str:
    return dialog.model.item(row, col).text()


def test_dialog_lists_what_regard_audit_show_prints(qtbot, trail) -> None:
    from viewer.ui.audit_dialog import AuditTrailDialog

    before = trail.journal.count()
    dialog = AuditTrailDialog(trail, patient="PAT-AUD-7")
    qtbot.addWidget(dialog)
    logged = list(trail.journal.records(actions=("audit_log_used",)))
    assert len(logged) == 1 and logged[0].patient_id == "PAT-AUD-7"
    assert logged[0].seq == before + 1  # recorded before the rows were read

    out = regard("audit", "show", "--patient", "PAT-AUD-7", "--json")
    assert out.returncode == 0, out.stderr
    expected = json.loads(out.stdout)["accesses"]
    assert len(expected) == 4 == dialog.model.rowCount()
    for row, rec in enumerate(expected):
        assert dialog.model.item(row, 0).toolTip() == rec["time"]
        assert table_text(dialog, row, 1) == rec["user"]
        assert table_text(dialog, row, 2) == rec["user_id"]
        assert table_text(dialog, row, 9) == rec["reason"]
    assert [table_text(dialog, r, 4) for r in range(4)] == [
        "view images", "view images", "emergency declared", "view images"]
    assert [table_text(dialog, r, 5) for r in range(4)] == [
        "normal", "normal", "BREAK THE GLASS", "BREAK THE GLASS"]
    assert [table_text(dialog, r, 6) for r in range(4)] == [
        "allowed", "refused", "allowed", "allowed"]
    assert table_text(dialog, 0, 7) == STUDY and table_text(dialog, 0, 8) == "PACS"
    assert "2 under emergency access" in dialog.status.text()


def test_break_the_glass_rows_are_highlighted(qtbot, trail) -> None:
    from viewer.ui.audit_dialog import AuditTrailDialog

    dialog = AuditTrailDialog(trail, patient="PAT-AUD-7")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    view = dialog.table.viewport()
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    rgb = arr.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3)
    pink = np.all(rgb == (0xFF, 0xD0, 0xD0), axis=-1)
    rows_pink = {dialog.table.rowAt(int(y)) for y in np.nonzero(pink.any(axis=1))[0]}
    assert rows_pink == {2, 3}


def test_verify_says_intact_then_names_the_tampered_record(qtbot, trail) -> None:
    from viewer.ui.audit_dialog import AuditTrailDialog

    dialog = AuditTrailDialog(trail)
    qtbot.addWidget(dialog)
    assert dialog.verify()
    n = trail.journal.count()
    assert dialog.status.text() == f"Audit journal intact: {n} records verified"

    path = trail.journal.path
    trail.journal.close()
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_no_update")
    db.execute("UPDATE records SET reason = 'nothing happened' WHERE seq = 4")
    db.commit()
    db.close()
    cli = regard("audit", "verify")
    assert cli.returncode != 0 and "record 4" in cli.stderr
    assert not dialog.verify()
    assert dialog.status.text().startswith("The audit journal is broken at record 4")


def test_unrecordable_consultation_shows_nothing(qtbot, regard_home: Path) -> None:
    from viewer.ui.audit_dialog import AuditTrailDialog

    blocker = regard_home / "file"
    blocker.write_text("x")
    gate = AccessGate(forward=False, journal=AuditJournal(blocker / "journal.sqlite"))
    dialog = AuditTrailDialog(gate, patient="PAT-AUD-7")
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 0
    assert dialog.status.text().startswith("The consultation of the trail cannot be recorded")


def test_french_headers(qtbot, qapp, trail) -> None:
    from viewer.ui.audit_dialog import AuditTrailDialog
    from viewer.ui.i18n import install_translator

    try:
        install_translator(qapp, "fr")
        dialog = AuditTrailDialog(trail, patient="PAT-AUD-7")
        qtbot.addWidget(dialog)
        headers = [dialog.model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)]
        assert headers == ["Date et heure", "Utilisateur", "Identifiant utilisateur"]
        assert table_text(dialog, 2, 5) == "BRIS DE GLACE"
        assert dialog.windowTitle() == "Traçabilité des accès"
    finally:
        install_translator(qapp, "en")
