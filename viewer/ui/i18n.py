"""User-facing strings through Qt's translation system (French and English).

Every string shown to the user goes through :func:`tr` (context ``Regard``),
so Qt Linguist tools see them all in one context. The French catalogue is
``resources/translations/regard_fr.ts``, compiled to ``regard_fr.qm`` with
``pyside6-lrelease`` (shipped in the PySide6-Essentials wheel). The UI speaks
French when the system locale is French (``QLocale.system()``), English
otherwise; ``REGARD_LANG`` (``fr``/``en``) overrides it.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from viewer.resources import resource_path

log = logging.getLogger(__name__)

CONTEXT = "Regard"
_installed: list[QTranslator] = []


def N_(text: str) -> str:
    """Mark a string for translation where it is defined; :func:`tr` translates it when shown."""
    return text


def tr(text: str) -> str:
    """Translate a source (English) string in the ``Regard`` context."""
    return QCoreApplication.translate(CONTEXT, text)


def ui_language(locale: QLocale | None = None) -> str:
    """``fr`` or ``en``: REGARD_LANG, else the system locale's language."""
    forced = os.environ.get("REGARD_LANG", "").strip().lower()[:2]
    if forced in ("fr", "en"):
        return forced
    loc = locale if locale is not None else QLocale.system()
    return "fr" if loc.language() == QLocale.Language.French else "en"


def install_translator(app: QCoreApplication, language: str | None = None) -> str:
    """Load the catalogue for ``language`` (default :func:`ui_language`); returns the language used.

    English needs no catalogue. A missing French catalogue is logged and the
    UI stays in English rather than failing to start.
    """
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    lang = language or ui_language()
    if lang == "en":
        return "en"
    qm = resource_path(f"translations/regard_{lang}.qm")
    translator = QTranslator(app)
    if not translator.load(str(qm)):
        log.warning("translation catalogue %s could not be loaded; UI in English", qm)
        return "en"
    app.installTranslator(translator)
    _installed.append(translator)
    return lang
