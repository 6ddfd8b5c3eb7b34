"""Extra viewer windows are screen-checked per viewport (child pytest, two screens).

multiscreen_cases.py runs on an Xvfb whose X screen is split into two RandR
monitors, 1536x2048 (3 MP class) and 1600x1200 (1.92 MP, 2 MP class): the
extra window moved from the first to the second shows the banner over its CR
viewport only, asks for the acknowledgement in diagnostic reading mode and
records it; declined, that window's images are hidden until it is on a fit screen
again (also when declined as the window opened).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.display.screens_fixture import xcb_env, xvfb_screens

pytestmark = [pytest.mark.gui, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MONITORS = ROOT / "tests" / "display" / "xrandr_monitors.py"


def test_extra_window_moved_between_a_3mp_and_a_1_9mp_screen() -> None:
    cases = Path(__file__).with_name("multiscreen_cases.py")
    with xvfb_screens(["3136x2048"]) as display:
        env = xcb_env(display)
        for args in (["Diag", "1536x2048+0+0", "primary"], ["Review", "1600x1200+1536+0"]):
            subprocess.run([sys.executable, str(MONITORS), "set", *args], env=env, check=True,
                           timeout=30)
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(cases)],
            env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "4 passed" in out.stdout
