"""`regard demo` headless: demo archive up, studies found and retrieved, a real render written."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.mark.slow
def test_headless_demo_retrieves_and_renders_the_phantom(regard_home: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    cmd = [sys.executable, "-m", "viewer.cli", "demo", "--headless", "-o", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr
    sheet = Path(out.stdout.strip().splitlines()[-1])
    assert sheet == tmp_path / "demo.png"
    assert "found 3 studies" in out.stderr
    assert "retrieved 120 images" in out.stderr

    img = np.asarray(Image.open(sheet).convert("L"), dtype=float)
    assert img.shape == (1024, 1024)
    for row in (0, 1):
        for col in (0, 1):
            tile = img[row * 512:(row + 1) * 512, col * 512:(col + 1) * 512]
            assert tile.std() > 10, f"tile {row},{col} is blank"

    # Every access of the demo is in the audit trail.
    trail = subprocess.run(
        [sys.executable, "-m", "viewer.cli", "audit", "verify"], capture_output=True, text=True
    )
    assert trail.returncode == 0, trail.stderr
    user = getpass.getuser()
    shown = subprocess.run(
        [sys.executable, "-m", "viewer.cli", "audit", "show", "--user", user, "--json"],
        capture_output=True, text=True,
    )
    assert shown.returncode == 0, shown.stderr
    actions = {r["action"] for r in json.loads(shown.stdout)["accesses"]}
    assert {"query", "retrieve", "view"} <= actions
