"""Run DCMTK tools as independent oracles (decompressors and dcmj2pnm)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def require(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.fail(f"DCMTK tool {tool} is not installed (./run tests installs dcmtk)")
    return exe


def run(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK tool; fail the test with its stderr when it fails."""
    proc = subprocess.run(
        [require(tool), *map(str, args)], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        pytest.fail(f"{tool} {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return proc


def decompress(src: Path, out: Path) -> Path:
    """DCMTK's own decode of ``src`` to Explicit VR Little Endian, chosen by its syntax."""
    import pydicom

    ts = str(pydicom.dcmread(src, stop_before_pixels=True, force=True).file_meta.TransferSyntaxUID)
    if ts == "1.2.840.10008.1.2.5":
        tool = "dcmdrle"
    elif ts in ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"):
        tool = "dcmdjpls"
    elif ts.startswith("1.2.840.10008.1.2.4.5") or ts in ("1.2.840.10008.1.2.4.70",):
        tool = "dcmdjpeg"
    else:
        run("dcmconv", "+te", src, out)
        return out
    run(tool, src, out)
    return out


def render_png(src: Path, out: Path, *options: str) -> np.ndarray:
    """``dcmj2pnm OPTIONS +on src out.png`` as a numpy array."""
    from PIL import Image

    run("dcmj2pnm", *options, "+on", src, out)
    return np.asarray(Image.open(out))
