"""French and English UI through Qt's translation system (.ts source, .qm compiled)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from viewer.resources import resource_path
from viewer.ui.models import load_presets

UI = Path(__file__).resolve().parents[2] / "viewer" / "ui"
MARKED = re.compile(r"""\b(?:tr|N_)\((["'])((?:(?!\1).)*)\1\)""")


def marked_strings() -> set[str]:
    found: set[str] = set()
    for py in UI.glob("*.py"):
        found.update(m.group(2) for m in MARKED.finditer(py.read_text(encoding="utf-8")))
    return found


def catalogue() -> dict[str, str]:
    root = ElementTree.parse(resource_path("translations/regard_fr.ts")).getroot()
    return {m.findtext("source"): m.findtext("translation") or ""
            for m in root.iter("message")}


def test_every_ui_string_and_preset_name_has_a_french_translation() -> None:
    fr = catalogue()
    wanted = marked_strings() | {p.name for ps in load_presets().values() for p in ps}
    assert len(wanted) > 40
    missing = sorted(s for s in wanted if not fr.get(s))
    assert not missing, f"untranslated: {missing}"


def test_placeholders_survive_translation() -> None:
    for source, target in catalogue().items():
        assert set(re.findall(r"{[^}]*}", source)) == set(re.findall(r"{[^}]*}", target)), source


def test_compiled_qm_matches_the_ts(tmp_path: Path) -> None:
    lrelease = Path(sys.executable).with_name("pyside6-lrelease")
    if not lrelease.exists():
        lrelease = Path(shutil.which("pyside6-lrelease") or "pyside6-lrelease")
    out = tmp_path / "fr.qm"
    subprocess.run([str(lrelease), str(resource_path("translations/regard_fr.ts")), "-qm",
                    str(out)], check=True, capture_output=True, timeout=60)
    assert out.read_bytes() == resource_path("translations/regard_fr.qm").read_bytes(), (
        "regard_fr.qm is stale: rebuild it (resources/translations/README.md)")


@pytest.mark.gui
def test_french_locale_gives_a_french_main_window(qtbot, qapp, monkeypatch) -> None:
    from PySide6.QtCore import QLocale

    from viewer.ui.i18n import install_translator, ui_language

    monkeypatch.delenv("REGARD_LANG", raising=False)
    assert ui_language(QLocale(QLocale.Language.French, QLocale.Country.France)) == "fr"
    assert ui_language(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom)) == "en"
    try:
        assert install_translator(qapp, "fr") == "fr"
        from viewer.ui.main_window import MainWindow

        win = MainWindow(authorizer=lambda row, series: None)
        qtbot.addWidget(win)
        assert win.browser_dock.windowTitle() == "Examens"
        assert win.tool_actions["window"].text() == "Fenêtrage"
        assert "Poumon" in [a.text() for a in win.preset_menu.actions()]
    finally:
        install_translator(qapp, "en")
    win2 = MainWindow(authorizer=lambda row, series: None)
    qtbot.addWidget(win2)
    assert win2.browser_dock.windowTitle() == "Studies"
