"""Where Regard keeps its state and how site and user configuration combine.

Everything the application keeps lives under ``REGARD_HOME`` (environment
variable; default: the platform's user data folder via platformdirs). A site
file managed by the hospital's IT presets archive nodes, the audit repository
and the policies for every user of the machine; the user's own
``$REGARD_HOME/config.toml`` adds to it. Sections that carry policy (``access``)
are merged by their owners (see :mod:`viewer.access`) so that a user file can
never weaken what the site sets.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP_NAME = "regard"


def regard_home() -> Path:
    """Return the folder holding all of Regard's state, creating it if needed."""
    env = os.environ.get("REGARD_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        home = Path(user_data_dir(APP_NAME, appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def site_config_path() -> Path:
    """Return the machine-wide configuration file managed by IT.

    ``REGARD_SITE_CONFIG`` overrides the platform default (used by tests and
    by deployments that keep it elsewhere).
    """
    env = os.environ.get("REGARD_SITE_CONFIG")
    if env:
        return Path(env)
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData"))
        return base / "Regard" / "config.toml"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/Regard/config.toml")
    return Path("/etc/regard/config.toml")


def user_config_path() -> Path:
    return regard_home() / "config.toml"


class ConfigError(ValueError):
    """A configuration file cannot be read; the message names the file."""


def read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``extra`` over ``base`` (tables merged, other values replaced)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Config:
    """Site and user configuration, kept apart so policy owners can compare them."""

    site: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)

    @property
    def merged(self) -> dict[str, Any]:
        return merge(self.site, self.user)

    def section(self, name: str) -> dict[str, Any]:
        value = self.merged.get(name, {})
        return value if isinstance(value, dict) else {}


def load_config() -> Config:
    return Config(site=read_toml(site_config_path()), user=read_toml(user_config_path()))
