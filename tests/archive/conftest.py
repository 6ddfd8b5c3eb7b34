"""Fixtures of the archive tests: a real Orthanc seeded with DCMTK's storescu, a keyring.

One Orthanc serves the whole session (started in ~0.1 s, seeded in ~1 s) for the
read-only tests; tests that break an archive (kill, TLS, auth) start their own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydicom import dcmread

from tests.keyrings import MemoryKeyring, memory_keyring  # noqa: F401  (fixture)
from tests.shared_data import shared
from viewer.archive.nodes import LocalAE, parse_address
from viewer.archive.orthanc import OrthancServer, free_port, start_orthanc

LOCAL_AET = "REGARDTEST"

# Real third-party series (../shared/data): CT with gantry tilt, coronal MR, sagittal MR.
SEED_FOLDERS = (
    "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing",
    "mr_orientation/dcm4che_MR_coronal_16",
    "mr_orientation/decubitus_HFS_t1_sag",
)
# One MR image in several transfer syntaxes, sent as they are (storescu option per file).
SYNTAX_FILES = {
    "1.dcm": [],
    "4.dcm": ["-xr"],
    "5.dcm": ["-xs"],
    "7.dcm": ["-xt"],
    "9.dcm": ["-xv"],
}


@dataclass
class Seeded:
    """What was stored into the session Orthanc: the oracle of the tests."""

    server: OrthancServer
    move_port: int
    files: dict[str, Path] = field(default_factory=dict)  # SOP Instance UID -> source file
    studies: dict[str, list[str]] = field(default_factory=dict)  # study -> SOP UIDs
    series: dict[str, list[str]] = field(default_factory=dict)  # series -> SOP UIDs
    syntax_study: str = ""
    ins_study: str = ""  # Patient ID = an INS, Issuer = ASIP-SANTE-INS-NIR
    other_issuer_study: str = ""  # same Patient ID, another issuer

    def source(self, sop_uid: str) -> Path:
        return self.files[sop_uid]


def _index(seeded: Seeded, paths: list[Path]) -> None:
    for path in paths:
        ds = dcmread(path, stop_before_pixels=True)
        sop = str(ds.SOPInstanceUID)
        seeded.files[sop] = path
        seeded.studies.setdefault(str(ds.StudyInstanceUID), []).append(sop)
        seeded.series.setdefault(str(ds.SeriesInstanceUID), []).append(sop)


INS = "1840375123456"
INS_ISSUER = "ASIP-SANTE-INS-NIR"


def _write_ins_studies(folder: Path, seeded: Seeded) -> list[Path]:
    """Two small synthetic studies with the same Patient ID but different issuers."""
    import numpy as np

    from viewer.dicom.synthetic import write_series

    values = np.zeros((2, 16, 16), dtype=np.int16)
    files = []
    for name, issuer in (("ins", INS_ISSUER), ("other", "HOSPITAL-A")):
        paths = write_series(
            folder / name, values, patient_id=INS, patient_name=f"INS^{name.upper()}",
            extra={"IssuerOfPatientID": issuer, "AccessionNumber": f"ACC-{name}"},
        )  # fmt: skip
        study = str(dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
        if issuer == INS_ISSUER:
            seeded.ins_study = study
        else:
            seeded.other_issuer_study = study
        files += paths
    return files


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    if shutil.which("storescu") is None:
        pytest.fail("DCMTK is not installed (./run tests installs it)")
    move_port = free_port()
    server = start_orthanc(
        tmp_path_factory.mktemp("orthanc"),
        modalities={"regard": (LOCAL_AET, "127.0.0.1", move_port)},
    )
    seeded = Seeded(server=server, move_port=move_port)
    try:
        folders = [shared(f) for f in SEED_FOLDERS]
        server.storescu(folders)
        files = [p for f in folders for p in sorted(f.iterdir()) if p.suffix == ".dcm"]
        _index(seeded, files)
        ts_folder = shared("transfer_syntaxes/dcm_qa_ts")
        for name, options in SYNTAX_FILES.items():
            server.storescu([ts_folder / name], options=options)
        ts_files = [ts_folder / n for n in SYNTAX_FILES]
        _index(seeded, ts_files)
        seeded.syntax_study = str(dcmread(ts_files[0], stop_before_pixels=True).StudyInstanceUID)
        ins_files = _write_ins_studies(tmp_path_factory.mktemp("ins"), seeded)
        server.storescu(ins_files)
        _index(seeded, ins_files)
        assert server.count_instances() == len(seeded.files)
        yield seeded
    finally:
        server.stop(graceful=False)


@pytest.fixture
def local(seeded: Seeded) -> LocalAE:
    return LocalAE(ae_title=LOCAL_AET, port=seeded.move_port, timeout=5.0)


@pytest.fixture
def dimse_node(seeded: Seeded):
    return parse_address(seeded.server.dimse_address, name="orthanc-dimse", timeout=5.0)


@pytest.fixture
def web_node(seeded: Seeded):
    return parse_address(seeded.server.web_address, name="orthanc-web", timeout=5.0)
