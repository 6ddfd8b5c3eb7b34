"""The CLI's own accesses are audited: render, probe, archive query/retrieve (fail closed)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.access.conftest import write_user
from tests.access.test_gate import read_only
from viewer.access.journal import AuditJournal
from viewer.cli import main
from viewer.dicom.phantom import write_phantom_series

PID = "PHANTOM-4242"


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phantom")
    write_phantom_series(folder, columns=64, rows=64, slices=12, slice_mm=3.0, patient_id=PID,
                         patient_name="PHANTOM^AUDIT")
    return folder


def _series_uid(folder: Path) -> str:
    import pydicom

    first = sorted(folder.glob("*"))[0]
    return str(pydicom.dcmread(first, stop_before_pixels=True).SeriesInstanceUID)


def _journal() -> AuditJournal:
    return AuditJournal()


def test_probe_is_recorded_before_values_are_printed(
    phantom: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uid = _series_uid(phantom)
    assert main(["probe", str(phantom), "--series", uid, "--point", "0,0,0", "--json"]) == 0
    assert "value" in json.loads(capsys.readouterr().out)
    (rec,) = list(_journal().records(patient=PID))
    assert (rec.action, rec.outcome, rec.series_uids, rec.detail["via"]) == (
        "view", "success", (uid,), "regard probe")
    assert rec.role == "radiologist"  # the OS user's default profile


def test_probe_refused_for_a_role_without_images(
    regard_home: Path, phantom: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_user(regard_home, '[user]\nrole = "secretary"\n')
    uid = _series_uid(phantom)
    assert main(["probe", str(phantom), "--series", uid, "--point", "0,0,0", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "access refused" in captured.err
    (rec,) = list(_journal().records(patient=PID))
    assert rec.outcome == "denied"


def test_render_is_recorded(phantom: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.png"
    assert main(["render", str(phantom), "--plane", "axial", "--size", "64x64",
                 "-o", str(out)]) == 0
    assert out.is_file()
    (rec,) = list(_journal().records(patient=PID))
    assert (rec.action, rec.outcome) == ("view", "success")


def test_read_only_journal_stops_render_with_no_png(
    regard_home: Path, phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    j = _journal()
    j.connect()
    j.close()
    out = tmp_path / "b.png"
    with read_only(regard_home / "audit"):
        code = main(["render", str(phantom), "--plane", "axial", "--size", "64x64",
                     "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert not out.exists()
    assert "audit journal" in err and err.count("\n") == 1
    assert _journal().count() == 0


@pytest.fixture(scope="module")
def orthanc(phantom: Path) -> Iterator[str]:
    if shutil.which("Orthanc") is None and not Path("/usr/sbin/Orthanc").exists():
        pytest.fail("Orthanc is not installed (./run tests installs it)")
    from viewer.archive.orthanc import start_demo_archive

    server = start_demo_archive(phantom)
    try:
        yield server.dimse_address
    finally:
        server.stop()


@pytest.mark.integration
def test_archive_query_and_retrieve_are_recorded(
    orthanc: str, phantom: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "query", "--archive", orthanc, "--patient-id", PID, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    text = json.dumps(found)
    assert PID in text
    import pydicom

    study = str(pydicom.dcmread(sorted(phantom.glob("*"))[0],
                                stop_before_pixels=True).StudyInstanceUID)
    assert main(["archive", "retrieve", "--archive", orthanc, "--study", study, "--json"]) == 0
    capsys.readouterr()
    q, r, t = list(_journal().records())
    assert (t.action, t.study_uids, t.detail["instances"]) == ("transferred", (study,), 12)
    assert (q.action, q.patient_id) == ("query", PID)
    assert q.archive == orthanc and r.archive == orthanc
    assert q.detail["query"]["PatientID"] == PID
    assert (r.action, r.study_uids) == ("retrieve", (study,))
    from viewer.access import atna

    for rec in (q, r, t):
        atna.validate(atna.message_bytes(rec))


@pytest.mark.integration
def test_archive_query_fails_closed(
    regard_home: Path, orthanc: str, capsys: pytest.CaptureFixture[str]
) -> None:
    j = _journal()
    j.connect()
    j.close()
    with read_only(regard_home / "audit"):
        code = main(["archive", "query", "--archive", orthanc, "--patient-id", PID, "--json"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "audit journal" in captured.err


def test_verbose_logs_carry_no_patient_identity(phantom: Path) -> None:
    import subprocess
    import sys

    uid = _series_uid(phantom)
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "viewer.cli", "-v", "probe", str(phantom),
                          "--series", uid, "--point", "0,0,0"], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    for ident in (PID, "PHANTOM^AUDIT", "PHANTOM AUDIT"):
        assert ident not in run.stderr
    (rec,) = list(_journal().records(patient=PID))  # the identity went to the trail only
    assert rec.detail["via"] == "regard probe"
