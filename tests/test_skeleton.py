"""The command line and configuration foundations every layer relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from viewer import __version__
from viewer.config import load_config, merge, regard_home


def test_version_prints_and_exits_zero() -> None:
    cmd = [sys.executable, "-m", "viewer.cli", "--version"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"regard {__version__}"


def test_regard_home_follows_environment(regard_home: Path) -> None:
    assert regard_home_is(regard_home)


def regard_home_is(path: Path) -> bool:
    return regard_home() == path and path.is_dir()


def test_user_config_adds_to_site_config(regard_home: Path) -> None:
    (regard_home / "site-config.toml").write_text('[archives.pacs]\naddress = "dicom://PACS@h:104"\n')
    (regard_home / "config.toml").write_text('[archives.mine]\naddress = "http://h/dicom-web"\n')
    cfg = load_config()
    assert set(cfg.section("archives")) == {"pacs", "mine"}


def test_merge_is_deep_and_right_biased() -> None:
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_a_broken_config_file_gives_one_line_naming_it(regard_home: Path) -> None:
    (regard_home / "config.toml").write_text("[archives\nbroken = ")
    cmd = [sys.executable, "-m", "viewer.cli", "audit", "whoami"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(regard_home / "config.toml") in lines[0], out.stderr
