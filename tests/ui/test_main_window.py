"""The main window in a real X window: fast start, layouts, import, access record, shortcuts.

Local imports go through the real DICOM index and assembler and the real
access gate (its journal under the test's REGARD_HOME): the series shown
must have been recorded as viewed first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.ui.responsiveness import max_gap_ms
from viewer.dicom.phantom import write_phantom_series

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, qapp):
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    win.quiet = True  # failures in the status bar and signals, no modal box
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.load_viewers()
    yield win
    win.close()


@pytest.fixture(scope="module")
def phantom_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phantom")
    write_phantom_series(folder, columns=192, rows=192, slices=80, slice_mm=2.0,
                         patient_name="PHANTOM^ONE", patient_id="PH-1")
    return folder


def test_window_is_shown_before_vtk_is_imported(xvfb: str) -> None:
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from viewer.ui.main_window import MainWindow\n"
        "app = QApplication([]); w = MainWindow(); w.show(); app.processEvents()\n"
        "assert w.isVisible()\n"
        "print('vtk' if any(m.startswith('vtkmodules') for m in sys.modules) else 'no-vtk')\n"
        "w.load_viewers(); print('vtk' if 'vtkmodules' in sys.modules else 'no-vtk')\n"
    )
    env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["no-vtk", "vtk"]


def test_layouts_switch_between_1x1_1x2_2x2_and_mpr(window) -> None:
    counts = {}
    for name in ("1x2", "2x2", "mpr", "1x1"):
        window.layout_actions[name].trigger()
        counts[name] = (len(window.grid.viewports), window.grid.view3d is not None)
    assert counts == {"1x2": (2, False), "2x2": (4, False), "mpr": (3, True),
                      "1x1": (1, False)}


def test_open_folder_lists_the_study_records_the_access_and_shows_pixels(
        qtbot, window, phantom_folder: Path, regard_home: Path) -> None:
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        window.open_path(phantom_folder)
    rows = window.browser.shown_rows()
    assert len(rows) == 1 and rows[0].patient_id == "PH-1"
    model = window.grid.active.model
    assert model.volume is not None and model.volume.dims == (192, 192, 80)
    assert model.demographics.patient_name == "PHANTOM^ONE"
    rgb = window.grid.active.capture()
    assert rgb[20:-20, 20:-20].std() > 10
    # the viewing was recorded, nominatively, before the pixels were shown
    from viewer.access.journal import AuditJournal

    views = [r for r in AuditJournal().records(actions=["view"])]
    assert views and views[-1].to_dict()["patient_id"] == "PH-1"
    # recently opened
    from viewer.ui.main_window import load_recent

    assert load_recent()[0] == str(phantom_folder)


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phantom_big")
    write_phantom_series(folder, columns=256, rows=256, slices=200, slice_mm=1.0)
    return folder


def test_event_loop_stays_responsive_while_a_study_loads(qtbot, window,
                                                         big_folder: Path) -> None:
    # the same timer with nothing to do: what the (shared, loaded) machine alone costs
    idle, _ = max_gap_ms(lambda: qtbot.wait(600))
    t0 = time.perf_counter()
    clock = QElapsedTimer()
    clock.start()
    shown_at: list[float] = []
    window.images_shown.connect(lambda: shown_at.append(clock.elapsed()))
    ticks_at: list[tuple[float, float]] = []

    def load() -> None:
        with qtbot.waitSignal(window.images_shown, timeout=60000):
            window.open_path(big_folder)
        qtbot.waitUntil(lambda: all(v.frames > 0 for v in _hosts(window)), timeout=10000)
        qtbot.wait(50)

    _, ticks = max_gap_ms(load, clock=clock, record=ticks_at)
    assert time.perf_counter() - t0 > 0.1  # long enough a load for the check to mean something
    assert ticks > 20
    assert shown_at
    # Scanning, assembling and laying out the study: 100 ms is the goal; scheduler delays
    # the idle loop also suffers are not the UI's doing.
    loading = max(b - a for a, b in ticks_at if a <= shown_at[0])
    assert loading < 100 + max(0.0, idle - 10), f"loading blocked {loading} ms (idle {idle} ms)"
    # Then each new viewport's first frame (OpenGL context + shaders, software GL here:
    # 50-120 ms each, more on a loaded machine) is drawn in a turn of its own: no freeze
    # of several frames at once (before: one 576 ms freeze).
    # (no turn after images_shown: the first frames were drawn before it, no freeze after)
    first_frames = max((b - a for a, b in ticks_at if a > shown_at[0]), default=0.0)
    assert first_frames < 400 + max(0.0, idle - 10), (
        f"first frames blocked {first_frames} ms (idle {idle} ms)")


def _hosts(window) -> list:
    from viewer.ui.vtk_host import VTKHost

    return [w for w in window.findChildren(VTKHost) if w.isVisible()]


def test_dropping_a_folder_imports_it(qtbot, window, phantom_folder: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(phantom_folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        window.dropEvent(event)
    assert window.browser.shown_rows()[0].patient_id == "PH-1"


def test_refused_access_shows_no_pixels(qtbot, phantom_folder: Path) -> None:
    from viewer.ui.main_window import MainWindow

    def refuse(row, series) -> None:
        raise PermissionError("access refused: no care relationship")

    win = MainWindow(authorizer=refuse)
    win.quiet = True
    qtbot.addWidget(win)
    win.show()
    win.load_viewers()
    with qtbot.waitSignal(win.load_failed, timeout=60000) as blocker:
        win.open_path(phantom_folder)
    assert "refused" in blocker.args[0]
    assert win.grid.active.model.volume is None
    win.close()


def test_preset_and_tool_shortcuts(qtbot, window, phantom_folder: Path) -> None:
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        window.open_path(phantom_folder)
    vp = window.grid.active
    keys = {a.shortcut().toString(): a for a in window.actions() if not a.shortcut().isEmpty()}
    # digits for CT presets, letters for tools (as Horos/OsiriX-like viewers)
    keys["4"].trigger()
    assert (vp.model.width, vp.model.center) == (1500, -600)
    keys["1"].trigger()
    assert (vp.model.width, vp.model.center) == (80, 40)
    keys["M"].trigger()
    assert vp.model.tool == "distance"
    keys["I"].trigger()
    assert vp.model.invert
    assert {"Ctrl+1", "Ctrl+2", "Ctrl+4", "Ctrl+M", "W", "Z", "P", "F", "T"} <= set(keys)
    # keys the viewport handles itself (no window activation needed under Xvfb)
    before = vp.model.slice_index()
    qtbot.keyClick(vp, Qt.Key.Key_Down)
    assert vp.model.slice_index() == before + 1
    qtbot.keyClick(vp, Qt.Key.Key_End)
    assert vp.model.slice_index() == vp.model.slice_count() - 1


def test_browser_search_filters_and_sorts(qtbot, window, phantom_folder: Path) -> None:
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        window.open_path(phantom_folder)
    b = window.browser
    b.name_edit.setText("phantom one")
    b.search()
    assert len(b.shown_rows()) == 1
    b.name_edit.setText("DUPONT")
    b.search()
    assert b.shown_rows() == []
    b.name_edit.setText("")
    b.modality.setCurrentText("MR")
    b.search()
    assert b.shown_rows() == []
    b.modality.setCurrentText("CT")
    b.search()
    assert len(b.shown_rows()) == 1


def test_status_bar_shows_the_user_and_the_cursor_readout(qtbot, window,
                                                          phantom_folder: Path) -> None:
    qtbot.waitUntil(lambda: window.user_label.text() != "", timeout=5000)
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        window.open_path(phantom_folder)
    vp = window.grid.active
    qtbot.mouseMove(vp, vp.rect().center())
    qtbot.waitUntil(lambda: "LPS" in window.cursor_label.text(), timeout=5000)
    text = window.cursor_label.text()
    # the centre of the fitted view is the volume centre (x = y = 0 for the phantom)
    nums = [float(v) for v in text.split("LPS")[1].split("mm")[0].split(",")]
    assert np.allclose(nums[:2], [0, 0], atol=3.0)
    assert "Value" in text


def test_selecting_a_study_shows_series_thumbnails(qtbot, window,
                                                   phantom_folder: Path) -> None:
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        window.open_path(phantom_folder)
    b = window.browser
    with qtbot.waitSignal(b.thumbnails_ready, timeout=60000):
        b.table.selectRow(0)
    item = b.series_list.item(0)
    assert not item.icon().isNull()
    image = item.icon().pixmap(64, 64).toImage()
    grey = np.array([[image.pixelColor(x, y).red() for x in range(0, image.width(), 4)]
                     for y in range(0, image.height(), 4)])
    assert grey.std() > 10  # a picture (the phantom's body), not a blank square
