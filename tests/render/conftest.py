"""Render tests need VTK's offscreen backend; fail clearly (not segfault) when it is missing."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _render_backend() -> None:
    from viewer.render.backend import ensure_backend

    ensure_backend()
