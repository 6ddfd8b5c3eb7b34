"""`regard archive ...` end to end against the session Orthanc (the CLI contract)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom import dcmread

from tests.archive.conftest import Seeded

pytestmark = pytest.mark.integration


def regard(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "viewer.cli", "archive", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)


def test_echo_query_retrieve_json(seeded: Seeded, regard_home: Path) -> None:
    (regard_home / "config.toml").write_text(
        f'[archive]\nae_title = "REGARDCLI"\n'
        f'[archives.pacs]\naddress = "{seeded.server.dimse_address}"\n'
        f'[archives.web]\naddress = "{seeded.server.web_address}"\n'
    )
    out = regard("echo", "--archive", "pacs", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ok"] is True

    out = regard("query", "--archive", "pacs", "--level", "study", "--modality", "MR",
                 "--patient-name", "DOE*", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 1 and rows[0]["archive"] == "pacs" and rows[0]["ModalitiesInStudy"] == "MR"
    study = rows[0]["StudyInstanceUID"]

    out = regard("query", "--archive", "web", "--level", "series", "--study", study, "--json")
    series = json.loads(out.stdout)
    assert [s["SeriesInstanceUID"] for s in series] and series[0]["archive"] == "web"

    out = regard("retrieve", "--archive", "pacs", "--study", study, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["instances"] == len(seeded.studies[study])
    files = sorted(Path(result["path"]).rglob("*.dcm"))
    assert {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files} == set(
        seeded.studies[study]
    )
    assert "instances" in out.stderr  # progress on stderr

    out = regard("query", "--archive", "cache", "--json")
    assert [r["StudyInstanceUID"] for r in json.loads(out.stdout)] == [study]


def test_federated_query_over_two_archives(seeded: Seeded) -> None:
    dimse, web = seeded.server.dimse_address, seeded.server.web_address
    out = regard("query", "--archive", dimse, "--archive", web, "--patient-name", "DOE*", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 1
    assert rows[0]["archives"] == [seeded.server.dimse_address, seeded.server.web_address]


def test_failures_exit_non_zero_with_one_line(seeded: Seeded) -> None:
    port = seeded.server.dicom_port
    for args, words in [
        (["echo", "--archive", f"dicom://WRONGAE@127.0.0.1:{port}"], "rejected"),
        (["echo", "--archive", "nowhere"], "unknown archive"),
        (["query", "--archive", "dicom://X@127.0.0.1:1", "--json"], "unreachable"),
        (["query", "--archive", seeded.server.dimse_address, "-k", "NotAKeyword=1"], "keyword"),
    ]:
        out = regard(*args)
        assert out.returncode != 0
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], out.stderr
