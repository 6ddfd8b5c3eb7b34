"""Session-wide test setup: isolated REGARD_HOME, and a real X server for GUI tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def regard_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own REGARD_HOME and no site configuration."""
    home = tmp_path_factory.mktemp("regard_home")
    monkeypatch.setenv("REGARD_HOME", str(home))
    monkeypatch.setenv("REGARD_SITE_CONFIG", str(home / "site-config.toml"))
    return home


def _start_xvfb(display: int, screens: list[str]) -> subprocess.Popen[bytes]:
    args = ["Xvfb", f":{display}", "-nolisten", "tcp", "-noreset"]
    for n, geometry in enumerate(screens):
        args += ["-screen", str(n), geometry]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = Path(f"/tmp/.X11-unix/X{display}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sock.exists():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"Xvfb :{display} did not start")


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """A real X server (Xvfb, one 1920x1200 screen) for the whole test session.

    GUI tests depend on this fixture (directly or through ``qapp``), so the
    Qt application is created on a real xcb window system, as users run it.
    """
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (./run tests installs it)")
    display = _free_display()
    proc = _start_xvfb(display, ["1920x1200x24"])
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{display}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        yield f":{display}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old
