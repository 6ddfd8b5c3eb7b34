"""The site configuration example is what the layers actually read (managed deployment)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from viewer.config import load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "site-config.example.toml"


@pytest.fixture
def site(regard_home: Path) -> Path:
    path = regard_home / "site-config.toml"
    shutil.copy(EXAMPLE, path)
    return path


def test_archive_nodes_from_site(site: Path) -> None:
    nodes_mod = pytest.importorskip("viewer.archive.nodes")
    nodes = nodes_mod.configured_nodes(load_config())
    assert set(nodes) == {"regional", "regional-web"}
    assert nodes["regional"].tls and nodes["regional"].ae_title == "PACS_REGION"
    assert nodes["regional-web"].protocol == "dicomweb" and nodes["regional-web"].auth == "bearer"
    assert nodes_mod.local_ae(load_config()).ae_title == "REGARD_WS01"


def test_access_policy_from_site_user_cannot_weaken(site: Path, regard_home: Path) -> None:
    policy_mod = pytest.importorskip("viewer.access.policy")
    (regard_home / "config.toml").write_text(
        '[access]\nidle_lock_minutes = 600\nbreak_glass_max_minutes = 5\n'
        '[access.roles.referring_physician]\ncare_relationship = false\n'
        'actions = ["query_demographics", "see_images", "see_reports", "export"]\n'
        '[audit]\nrepository = "udp://elsewhere:514"\nretention_days = 10\n',
        encoding="utf-8",
    )
    policy = policy_mod.AccessPolicy.load(load_config())
    assert policy.site_id == "CH-EXAMPLE"
    assert policy.idle_lock_minutes == 10  # the user's 600 would weaken the site's 10
    assert policy.break_glass_max_minutes == 5  # stricter: accepted
    rule = policy.roles["referring_physician"]
    assert rule.care_relationship is True and "export" not in rule.actions
    assert policy.repository == "tls://audit.region.example:6514"
    assert policy.retention_days == 365


def test_display_policy_from_site(site: Path) -> None:
    display = pytest.importorskip("viewer.display.policy")
    policy = display.load_policy(load_config().site)
    assert policy.exams["MG"] == "5MP"
