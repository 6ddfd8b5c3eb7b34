"""Access rules: the role matrix, care relationship, opposition, and the site/user merge."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.access.conftest import write_site, write_user
from viewer.access.patient import PatientRef
from viewer.access.policy import AccessPolicy, PolicyError
from viewer.config import load_config

P = PatientRef("P1", "CHU", "123456789012345", "1.2.250.1.213.1.4.8", "QUAL")


def test_default_policy_matrix() -> None:
    pol = AccessPolicy.load()
    assert pol.default_role == "radiologist"
    assert pol.decide("radiologist", "see_images", P).allowed
    assert pol.decide("radiologist", "export", P).allowed
    assert pol.decide("technologist", "see_images", P).allowed
    assert not pol.decide("technologist", "export", P).allowed
    assert not pol.decide("secretary", "see_images", P).allowed
    assert pol.decide("secretary", "see_reports", P).allowed
    assert not pol.decide("administrator", "see_images", P).allowed
    assert pol.decide("administrator", "change_settings").allowed
    assert not pol.decide("nurse", "see_images", P).allowed
    assert pol.retention_days >= 183


def test_referring_physician_needs_a_care_relationship() -> None:
    pol = AccessPolicy.load()
    denied = pol.decide("referring_physician", "see_images", P)
    assert not denied.allowed and "care relationship" in denied.message
    assert pol.decide("referring_physician", "see_images", P, care_relationship=True).allowed
    bg = pol.decide("referring_physician", "see_images", P, break_glass=True)
    assert bg.allowed and bg.mode == "break_glass"
    # break-the-glass opens viewing, not export
    assert not pol.decide("referring_physician", "export", P, break_glass=True).allowed
    # non-clinicians cannot use it
    assert not pol.decide("secretary", "see_images", P, break_glass=True).allowed


def test_opposition_refuses_outside_the_producing_site(regard_home: Path) -> None:
    write_site(regard_home, '[access]\nsite_id = "CHU-A"\nopposition = ["INS:123456789012345"]\n')
    pol = AccessPolicy.load()
    out = pol.decide("radiologist", "see_images", P, origin_site="CLINIC-B")
    assert not out.allowed and "opposed sharing" in out.message
    assert not pol.decide("radiologist", "see_images", P).allowed  # unknown origin
    assert pol.decide("radiologist", "see_images", P, origin_site="CHU-A").allowed
    # an emergency does not lift the opposition unless the site says so
    assert not pol.decide("radiologist", "see_images", P, break_glass=True,
                          origin_site="CLINIC-B").allowed
    other = PatientRef("P2", "CHU")
    assert pol.decide("radiologist", "see_images", other, origin_site="CLINIC-B").allowed


def test_opposition_file_is_read_and_unreadable_one_fails_closed(regard_home: Path) -> None:
    f = regard_home / "opp.txt"
    f.write_text("# patients opposed\nP1^CHU\n", encoding="utf-8")
    write_site(regard_home, f'[access]\nsite_id = "A"\nopposition_file = "{f}"\n')
    assert AccessPolicy.load().is_opposed(P)
    f.unlink()
    with pytest.raises(PolicyError, match=r"opp\.txt"):
        AccessPolicy.load()


def test_site_can_change_anything(regard_home: Path) -> None:
    write_site(regard_home, '[access.roles.technologist]\nactions = ["query_demographics"]\n'
                            '[access.roles.radiologist]\ncare_relationship = true\n')
    pol = AccessPolicy.load()
    assert not pol.decide("technologist", "see_images", P).allowed
    assert not pol.decide("radiologist", "see_images", P).allowed


def test_user_settings_cannot_weaken_site_policy(
    regard_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_site(regard_home, """
[access]
site_id = "CHU-A"
break_glass_max_minutes = 30
idle_lock_minutes = 10
opposition = ["P7"]
self_declared_roles = ["referring_physician"]
[access.roles.technologist]
actions = ["query_demographics"]
[access.roles.referring_physician]
care_relationship = true
[audit]
retention_days = 365
repository = "tls://arr.chu.example:6514"
""")
    write_user(regard_home, """
[access]
site_id = "MY-OWN-SITE"
break_glass_max_minutes = 600
idle_lock_minutes = 120
opposition = []
self_declared_roles = ["radiologist", "administrator", "referring_physician"]
break_glass_overrides_opposition = true
[access.roles.technologist]
actions = ["query_demographics", "see_images", "export"]
[access.roles.referring_physician]
care_relationship = false
[access.roles.superuser]
actions = ["see_images"]
[audit]
retention_days = 1
repository = "udp://127.0.0.1:514"
""")
    cfg = load_config()
    assert cfg.user["access"]["break_glass_max_minutes"] == 600  # the user did ask
    with caplog.at_level(logging.WARNING):
        pol = AccessPolicy.load(cfg)
    assert pol.site_id == "CHU-A"
    assert pol.break_glass_max_minutes == 30
    assert pol.idle_lock_minutes == 10
    assert pol.opposition == {"P7"}
    assert pol.self_declared_roles == {"referring_physician"}
    assert pol.break_glass_overrides_opposition is False
    assert pol.roles["technologist"].actions == {"query_demographics"}
    assert pol.roles["referring_physician"].care_relationship is True
    assert "superuser" not in pol.roles
    assert pol.retention_days == 365
    assert pol.repository == "tls://arr.chu.example:6514"
    assert "cannot" in caplog.text


def test_user_settings_can_tighten_site_policy(regard_home: Path) -> None:
    write_user(regard_home, """
[access]
break_glass_max_minutes = 5
opposition = ["P1"]
[access.roles.radiologist]
actions = ["query_demographics", "see_images"]
care_relationship = true
[audit]
retention_days = 400
""")
    pol = AccessPolicy.load()
    assert pol.break_glass_max_minutes == 5
    assert pol.is_opposed(P)
    assert pol.roles["radiologist"].actions == {"query_demographics", "see_images"}
    assert pol.roles["radiologist"].care_relationship
    assert pol.retention_days == 400


def test_retention_below_six_months_is_raised(regard_home: Path) -> None:
    write_site(regard_home, "[audit]\nretention_days = 30\n")
    assert AccessPolicy.load().retention_days == 183


def test_unknown_permission_in_policy_is_named(regard_home: Path) -> None:
    write_site(regard_home, '[access.roles.radiologist]\nactions = ["see_everything"]\n')
    with pytest.raises(PolicyError, match="see_everything"):
        AccessPolicy.load()
