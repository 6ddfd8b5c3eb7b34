"""viewer.resources finds resources/ from source, frozen, and through REGARD_RESOURCES."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from viewer import resources
from viewer.resources import resource_path, resources_root

REPO = Path(__file__).resolve().parents[2]


def test_from_source_points_at_repo_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGARD_RESOURCES", raising=False)
    assert resources_root() == REPO / "resources"
    assert resource_path("icons/regard.svg") == REPO / "resources" / "icons" / "regard.svg"


def test_frozen_uses_meipass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REGARD_RESOURCES", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.is_frozen()
    assert resource_path("a/b.toml") == tmp_path / "resources" / "a" / "b.toml"


def test_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REGARD_RESOURCES", str(tmp_path))
    assert resource_path("x.txt") == tmp_path.resolve() / "x.txt"


@pytest.mark.parametrize("bad", ["../pyproject.toml", "/etc/passwd", "a/../../b"])
def test_refuses_escape(bad: str) -> None:
    with pytest.raises(ValueError, match="inside resources"):
        resource_path(bad)
