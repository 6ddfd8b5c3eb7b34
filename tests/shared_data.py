"""Access to the third-party test corpus in ../shared/data (never copied into the repo).

``REGARD_TEST_DATA`` overrides the location. A missing corpus is an error, not
a skip: CI always has it beside the clone.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    env = os.environ.get("REGARD_TEST_DATA")
    root = Path(env) if env else _ROOT.parent / "shared" / "data"
    if not root.is_dir():
        raise FileNotFoundError(f"test corpus not found at {root} (set REGARD_TEST_DATA)")
    return root


def shared(relpath: str) -> Path:
    """Path of a file or folder of the shared corpus, e.g. ``shared("ct_gantry_tilt/...")``."""
    path = data_root() / relpath
    if not path.exists():
        raise FileNotFoundError(f"{path} is not in the shared test corpus")
    return path
