"""Exam type -> required display class, screen class by physical pixels, the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewer.config import ConfigError
from viewer.display.policy import (
    ReadingMode,
    check,
    fitness_for_audit,
    load_policy,
    reading_decision,
    required_class,
    screen_class,
)
from viewer.display.screens import ScreenInfo

SECTIONAL = ["CT", "MR", "PT", "NM", "US"]
PROJECTION = ["CR", "DX", "RF", "XA", "IO", "PX", "OT"]
BREAST = ["MG", "DBT"]

# (width, height) -> class expected from the regulation's megapixel thresholds
SIZES = {
    (1600, 1200): "2MP",
    (1200, 1600): "2MP",
    (1280, 1024): None,
    (1536, 2048): "3MP",
    (1920, 1080): "2MP",
    (2560, 1440): "3MP",
    (2048, 2560): "5MP",
    (3840, 2160): "5MP",
}
RANK = {None: 0, "2MP": 2, "3MP": 3, "5MP": 5}


@pytest.mark.parametrize("mod", SECTIONAL + PROJECTION + BREAST)
def test_exam_types_need_their_class(mod: str) -> None:
    expected = "2MP" if mod in SECTIONAL else "3MP" if mod in PROJECTION else "5MP"
    assert required_class(mod) == expected
    assert required_class(mod.lower()) == expected


def test_breast_tomosynthesis_sop_class_needs_5mp_even_if_labelled_otherwise() -> None:
    assert required_class("OT", sop_class_uid="1.2.840.10008.5.1.4.1.1.13.1.3") == "5MP"


def test_non_image_objects_need_no_diagnostic_screen() -> None:
    assert required_class("SR") is None
    assert check(ScreenInfo("laptop", 1366, 768), "KO").fit


def test_unlisted_image_modality_gets_the_default_class() -> None:
    assert required_class("XC") == "2MP"


@pytest.mark.parametrize(("size", "cls"), sorted(SIZES.items(), key=str))
@pytest.mark.parametrize("mod", ["CT", "MR", "US", "CR", "DX", "MG", "DBT"])
def test_verdict_per_screen_and_modality(size: tuple[int, int], cls: str | None, mod: str) -> None:
    screen = ScreenInfo("s", *size)
    assert screen_class(screen) == cls
    verdict = check(screen, mod)
    assert verdict.fit == (RANK[cls] >= RANK[required_class(mod)])
    assert (verdict.message_en == "") == verdict.fit


def test_physical_pixels_are_logical_times_device_pixel_ratio() -> None:
    hidpi = ScreenInfo("4k-at-200%", 1920, 1080, device_pixel_ratio=2.0)
    assert (hidpi.width, hidpi.height) == (3840, 2160)
    assert screen_class(hidpi) == "5MP"
    assert check(hidpi, "MG").fit
    # 1280x800 at 150% is a 1920x1200 panel: 2 MP class
    assert screen_class(ScreenInfo("laptop", 1280, 800, device_pixel_ratio=1.5)) == "2MP"


def test_banner_text_in_english_and_french() -> None:
    verdict = check(ScreenInfo("s", 1600, 1200), "CR")
    assert not verdict.fit
    assert verdict.message_en == "Not for diagnosis: this screen is 1.9 MP, CR needs 3 MP"
    assert verdict.message_fr == "Pas pour le diagnostic : cet écran fait 1,9 MP, le CR exige 3 MP"
    assert verdict.message("fr_FR") == verdict.message_fr
    assert verdict.message("en") == verdict.message_en
    assert verdict.required == "3MP" and verdict.actual_mp == pytest.approx(1.92)


def test_megapixels_in_the_banner_are_rounded_down() -> None:
    # 2.96 Mpx must not read "3.0 MP, CR needs 3 MP"
    verdict = check(ScreenInfo("s", 1480, 2000), "CR")
    assert not verdict.fit and "is 2.9 MP" in verdict.message_en


def test_consultation_opens_with_banner_diagnostic_needs_acknowledgement() -> None:
    verdict = check(ScreenInfo("s", 1280, 1024), "CT")
    consult = reading_decision(verdict, ReadingMode.CONSULTATION)
    assert consult.open and consult.banner and consult.audit == "non-diagnostic-screen"
    refused = reading_decision(verdict, "diagnostic")
    assert not refused.open and refused.needs_acknowledgement and refused.audit is None
    acked = reading_decision(verdict, "diagnostic", acknowledged=True)
    assert acked.open and acked.banner and acked.audit == "non-diagnostic-screen-acknowledged"
    record = fitness_for_audit(verdict, "diagnostic", acked)
    assert record["acknowledged"] is True and record["reading_mode"] == "diagnostic"
    assert record["screen_class"] is None and record["required_class"] == "2MP"
    assert fitness_for_audit(verdict, "consultation", consult)["acknowledged"] is False
    fit = reading_decision(check(ScreenInfo("s", 1600, 1200), "CT"), "diagnostic")
    assert fit.open and not fit.banner and fit.audit is None
    assert verdict.audit_detail()["diagnostic_screen"] is False


def test_site_overrides_thresholds_inline() -> None:
    site = {"display": {"classes": {"2MP": {"min_megapixels": 2.0}}}}
    policy = load_policy(site)
    assert screen_class(ScreenInfo("s", 1600, 1200), policy) is None
    assert not check(ScreenInfo("s", 1600, 1200), "CT", policy).fit
    assert check(ScreenInfo("s", 1920, 1080), "CT", policy).fit


def test_site_configuration_file_is_read_by_default(regard_home: Path) -> None:
    (regard_home / "site-config.toml").write_text('[display.exams]\nCR = "5MP"\n')
    assert required_class("CR") == "5MP"
    # the user's own configuration cannot change the site policy
    (regard_home / "site-config.toml").write_text("")
    (regard_home / "config.toml").write_text('[display.exams]\nCR = "2MP"\n')
    assert required_class("CR") == "3MP"


def test_site_policy_file(tmp_path: Path) -> None:
    f = tmp_path / "display.toml"
    f.write_text('[classes.3MP]\nmin_megapixels = 3.5\n[exams]\nUS = "3MP"\n')
    policy = load_policy({"display": {"policy_file": str(f)}})
    assert required_class("US", policy) == "3MP"
    assert screen_class(ScreenInfo("s", 1536, 2048), policy) == "2MP"
    assert str(f) in policy.source


def test_bad_site_policy_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown display class '4MP'"):
        load_policy({"display": {"exams": {"CT": "4MP"}}})
    with pytest.raises(ConfigError, match=r"nowhere\.toml"):
        load_policy({"display": {"policy_file": "/nowhere.toml"}})
