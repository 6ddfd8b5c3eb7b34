"""Start X servers and Qt offscreen configurations with screens of known sizes."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def xvfb_screens(sizes: list[str]) -> Iterator[str]:
    """An Xvfb server with one X screen per size ("WxH"); yields its DISPLAY.

    ``-displayfd`` lets the server pick a free display number, so parallel
    test sessions never collide. Stopped by PID.
    """
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (./run tests installs it)")
    read_fd, write_fd = os.pipe()
    args = ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp", "-noreset"]
    for n, size in enumerate(sizes):
        args += ["-screen", str(n), f"{size}x24"]
    proc = subprocess.Popen(
        args, pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 15)
        number = os.read(read_fd, 32).decode().strip() if ready else ""
        if not number:
            raise RuntimeError(f"Xvfb with screens {sizes} did not start")
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def offscreen_env(tmp_path: Path, screens: list[dict[str, object]]) -> dict[str, str]:
    """Environment for Qt's offscreen platform with named, positioned (HiDPI) screens."""
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": screens}))
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    return env


def xcb_env(display: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    return env


def display_check(env: dict[str, str], modality: str | None = None) -> list[dict[str, object]]:
    """Run ``regard display check --json`` in a fresh process (fresh QGuiApplication)."""
    cmd = [sys.executable, "-m", "viewer.cli", "display", "check", "--json"]
    if modality:
        cmd += ["--modality", modality]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
