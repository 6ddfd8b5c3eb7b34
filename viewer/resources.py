"""Locate Regard's read-only resources, from source or from a frozen (PyInstaller) build.

Use this, never ``Path(__file__).parent / ".."``, to reach anything under the
repository's ``resources/`` folder (policies, display classes, window presets,
translations, icons, style, demo recipes)::

    from viewer.resources import resource_path

    roles = resource_path("policies/roles.toml")        # -> Path
    qm = resource_path("translations/regard_fr.qm")

Where resources are looked for, first hit wins:

1. ``REGARD_RESOURCES`` (environment variable): a folder that replaces
   ``resources/`` (tests, or a site that ships its own policies).
2. Frozen by PyInstaller: ``<sys._MEIPASS>/resources`` (``packaging/regard.spec``
   copies the whole ``resources/`` folder there, one-folder and one-file alike).
3. From source (editable install or a checkout): ``<repo>/resources``, the
   sibling of the ``viewer`` package.

``resource_path`` does not require the file to exist (callers decide whether a
missing file is an error: name the path in the message); ``resources_root``
returns the folder itself. Paths are relative, ``/``-separated, and must stay
inside the folder (``..`` is refused).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath

_PACKAGE_DIR = Path(__file__).resolve().parent


def is_frozen() -> bool:
    """True when running from a PyInstaller (or similar) frozen build."""
    return bool(getattr(sys, "frozen", False))


def resources_root() -> Path:
    """Return the folder holding Regard's resources (see the module docstring for the order)."""
    env = os.environ.get("REGARD_RESOURCES")
    if env:
        return Path(env).expanduser().resolve()
    if is_frozen():
        base = getattr(sys, "_MEIPASS", None)
        root = Path(base) if base else Path(sys.executable).resolve().parent
        return root / "resources"
    return _PACKAGE_DIR.parent / "resources"


def resource_path(relative: str | os.PathLike[str] = "") -> Path:
    """Return the absolute path of ``relative`` inside the resources folder.

    ``relative`` is ``/``-separated (e.g. ``"policies/roles.toml"``); absolute
    paths and ``..`` components raise ``ValueError``.
    """
    rel = PurePosixPath(str(relative).replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"resource path must be relative and inside resources/: {relative!s}")
    return resources_root().joinpath(*rel.parts)
