"""Every corpus file whose DCMTK decode equals pydicom's (pixel_oracle.tsv, EQUAL) decodes
through our chain to the same pixel hash: covers every syntax, colour model and quirk.

The hash is sha256 of the little-endian array (``_tools/pixel_oracle.py``); the
table's EQUAL rows were checked against DCMTK's dcmdjpeg/dcmdjpls/dcmdrle/dcmconv.
"""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pytest

from tests.shared_data import data_root, shared
from viewer.dicom.pixels import read_frames


def _rows() -> list[tuple[str, str]]:
    rows = []
    for table in ("transfer_syntaxes/pixel_oracle.tsv", "pixel_pipeline/pixel_oracle.tsv"):
        with (data_root() / table).open() as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row["dcmtk_vs_pydicom"] == "EQUAL" and row["pydicom_sha256_16"]:
                    rows.append((row["file"], row["pydicom_sha256_16"]))
    return rows


ROWS = _rows()


def _sha16(arr: np.ndarray) -> str:
    a = np.ascontiguousarray(arr)
    a = a.astype(a.dtype.newbyteorder("<"))
    return hashlib.sha256(a.tobytes()).hexdigest()[:16]


def test_oracle_table_is_large() -> None:
    assert len(ROWS) >= 90


@pytest.mark.parametrize(("rel", "sha"), ROWS, ids=[r[0].split("/")[-1] for r in ROWS])
def test_decode_matches_dcmtk_confirmed_hash(rel: str, sha: str) -> None:
    assert _sha16(read_frames(shared(rel))) == sha
