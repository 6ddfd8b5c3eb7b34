"""Several viewer windows across several screens (Qt offscreen platform with a
two-screen configuration, HiDPI scaling 2, in a child process).

Checks: "New window on screen 2" opens a second top-level window on that screen,
sized to it, that renders the study (pixels), with the render window in device
pixels (logical size x device pixel ratio) and 1:1 true size using device pixels;
its geometry is saved per user under REGARD_HOME and restored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.display.screens_fixture import offscreen_env

pytestmark = pytest.mark.gui

CHILD = r"""
import json, sys
import numpy as np
from PySide6.QtWidgets import QApplication
from viewer.ui.main_window import MainWindow
from tests.ui.conftest import phantom_volume

app = QApplication([])
out = {"screens": [s.name() for s in app.screens()]}
main = MainWindow(authorizer=lambda row, series: None)
main.quiet = True
main.show()
app.processEvents()
main.load_viewers()
main.grid.show_volume(phantom_volume())
labels = [a.text() for a in main.window_menu.menu.actions()]
out["menu"] = labels
act = [a for a in main.window_menu.menu.actions() if "(Right)" in a.text()][0]
act.trigger()
for _ in range(20):
    app.processEvents()
win = main.window_menu.windows[-1]
vp = win.grid.active
out["window_screen"] = win.screen().name()
g, sg = win.geometry(), win.screen().geometry()
out["inside"] = sg.contains(g.center())
out["ratio"] = vp.device_ratio()
out["win_ratio"] = win.devicePixelRatioF()
out["logical"] = [vp.width(), vp.height()]
out["device"] = list(vp.device_size())
rgb = vp.capture()
out["shape"] = list(rgb.shape)
out["bright"] = int((rgb.max(axis=-1) > 60).sum())
vp.model.set_true_size(True)
vp.render_now()
out["true_zoom_mm_per_device_px"] = vp.view.mm_per_pixel()
out["spacing"] = float(vp.view.volume.geometry.spacing[0])
win.setGeometry(sg.x() + 20, sg.y() + 30, sg.width() // 2, sg.height() // 2)
app.processEvents()
saved = [win.x(), win.y(), win.width(), win.height()]
out["saved"] = saved
main.close()
app.processEvents()
from viewer.ui.windows import ViewerWindow
again = ViewerWindow(0)  # no screen asked: where it was
out["restored"] = [again.x(), again.y(), again.width(), again.height()]
print(json.dumps(out))
"""


def test_new_window_opens_on_the_second_screen_and_renders(tmp_path: Path) -> None:
    env = offscreen_env(tmp_path, [
        {"name": "Left", "x": 0, "y": 0, "width": 1200, "height": 1600},
        {"name": "Right", "x": 1200, "y": 0, "width": 1000, "height": 1300},
    ])
    # Qt's offscreen windows ignore a screen's "dpr"; Qt's own HiDPI scaling gives every
    # window a device pixel ratio of 2, as on a 200 % desktop
    env["QT_SCALE_FACTOR"] = "2"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["screens"] == ["Left", "Right"]
    assert any("screen 2" in m and "Right" in m for m in out["menu"])
    assert out["window_screen"] == "Right" and out["inside"]
    assert out["ratio"] == 2.0, {k: out[k] for k in ("ratio", "win_ratio", "logical", "device")}
    w, h = out["logical"]
    assert out["device"] == [2 * w, 2 * h]  # render window in device pixels
    assert out["shape"][:2] == [2 * h, 2 * w]
    assert out["bright"] > 1000  # the phantom is drawn
    # 1:1 true size: one image pixel per device pixel
    assert out["true_zoom_mm_per_device_px"] == pytest.approx(out["spacing"], rel=0.02)
    assert out["restored"] == out["saved"]
