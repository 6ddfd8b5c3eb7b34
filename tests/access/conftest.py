"""Fixtures for the access layer: journals, gates and an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.keyrings import MemoryKeyring, memory_keyring  # noqa: F401  (fixture)
from viewer.access.gate import AccessGate
from viewer.access.journal import AuditEntry, AuditJournal


@pytest.fixture
def journal(regard_home: Path) -> Iterator[AuditJournal]:
    j = AuditJournal(regard_home / "audit" / "journal.sqlite")
    yield j
    j.close()


@pytest.fixture
def gate(regard_home: Path) -> AccessGate:
    return AccessGate(forward=False)


def entry(n: int = 0, **kw: object) -> AuditEntry:
    base: dict[str, object] = {
        "user_id": "jdoe@ws1", "user_name": "Dr Jane Doe", "action": "view",
        "patient_id": f"P{n % 7}", "patient_issuer": "CHU", "study_uids": (f"1.2.3.{n}",),
        "workstation": "ws1",
    }
    base.update(kw)
    return AuditEntry(**base)  # type: ignore[arg-type]


def write_site(home: Path, text: str) -> None:
    (home / "site-config.toml").write_text(text, encoding="utf-8")


def write_user(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")
