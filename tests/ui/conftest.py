"""GUI test setup: the QApplication is created on the session's Xvfb (real xcb windows).

pytest-qt's ``qapp`` is overridden so that it depends on the session ``xvfb``
fixture: DISPLAY and QT_QPA_PLATFORM=xcb are set before Qt picks its platform.
Every test that uses ``qtbot`` therefore runs in a real X window, with VTK
rendering through GLX on Mesa's llvmpipe, as on a user's machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from viewer.dicom.geometry import Geometry
from viewer.dicom.phantom import PhantomGeometry, PhantomSlices, bead_center
from viewer.dicom.volume import Volume


def _die_with_parent() -> None:
    """preexec_fn: the X server gets SIGTERM when the test process ends (Linux prctl)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """Like the session fixture of tests/conftest.py, but the server outlives the session.

    Stopping Xvfb while a QApplication with VTK/GLX windows still exists makes
    Qt's xcb plugin (and Xlib) exit the process with status 1 after all tests
    passed. Here the server is only stopped when the test process itself ends
    (PR_SET_PDEATHSIG), so no server leaks and the exit status stays true.
    """
    from tests.conftest import _free_display

    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (./run tests installs it)")
    display = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{display}", "-nolisten", "tcp", "-noreset", "-screen", "0", "1920x1200x24"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
    )
    sock = Path(f"/tmp/.X11-unix/X{display}")
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{display} did not start")
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{display}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    yield f":{display}"


@pytest.fixture(scope="session")
def qapp(xvfb: str, qapp_args: list[str], pytestconfig: pytest.Config) -> Iterator[object]:
    from PySide6.QtWidgets import QApplication

    from viewer.ui.i18n import install_translator

    app = QApplication.instance()
    if app is None:
        app = QApplication(qapp_args)
    assert app.platformName() == "xcb", "GUI tests must run on the session's Xvfb"
    install_translator(app, "en")
    yield app


PHANTOM = PhantomGeometry(columns=128, rows=128, slices=40, slice_mm=4.0)


def phantom_volume(geo: PhantomGeometry = PHANTOM, noise: float = 0.0) -> Volume:
    """The DICOM layer's CT phantom as a Volume in memory (HFS axial, LPS, HU).

    The orientation bead sits on the patient's LEFT ANTERIOR side in the upper
    (head) fifth of the stack only (viewer.dicom.phantom).
    """
    slices = PhantomSlices(geo, noise=noise)
    array = np.stack([slices[k] for k in range(len(slices))]).astype(np.int16)
    s = geo.spacing
    geometry = Geometry((geo.columns, geo.rows, geo.slices), (s, s, geo.slice_mm),
                        np.array(geo.origin), np.eye(3))
    meta = {"patient_name": "PHANTOM^TEST", "patient_id": "PH001",
            "study_description": "Phantom", "series_description": "Axial 4 mm"}
    return Volume(array, geometry, series_uid="1.2.3", modality="CT", window=(40.0, 400.0),
                  rescale_type="HU", meta=meta)


def bead_lps(geo: PhantomGeometry = PHANTOM) -> np.ndarray:
    """Centre of the orientation bead (LPS mm), at 90 % of the stack height."""
    x, y = bead_center(geo)
    return np.array([x, y, geo.z0 + 0.9 * (geo.z_top - geo.z0)])


@pytest.fixture(scope="session")
def phantom() -> Volume:
    return phantom_volume()


@pytest.fixture
def grid(qtbot, qapp):
    from viewer.ui.grid import ViewportGrid

    g = ViewportGrid()
    qtbot.addWidget(g)
    g.resize(640, 640)
    g.show()
    qtbot.waitExposed(g)
    yield g
    g.close_vtk()


def bright_centroid(rgb: np.ndarray, threshold: int = 250) -> tuple[float, float] | None:
    """(x, y) centre of the pixels brighter than ``threshold`` in all channels, or None."""
    mask = np.all(rgb >= threshold, axis=-1)
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
