"""Display QA results and calibration curves kept per screen under REGARD_HOME.

Layout: ``$REGARD_HOME/display/<screen key>.json`` holding the screen's
description, its QA results (newest last, each with its UTC date) and its
characteristic curve for software GSDF calibration with an ``enabled`` flag.
The key is the manufacturer/model/serial when Qt knows them (EDID), else the
screen name and size. Periodic QA (TG18: monthly/quarterly checks and a yearly
full test): :func:`reminder` says when the last QA is older than the site's
period (``[qa] period_days`` of the display policy).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from viewer.config import regard_home
from viewer.display.calibration import CharacteristicCurve, PresentationLUT, presentation_lut
from viewer.display.policy import DisplayPolicy, load_policy
from viewer.display.qa import QAResult
from viewer.display.screens import ScreenInfo

log = logging.getLogger(__name__)

ScreenRef = ScreenInfo | str


def store_dir() -> Path:
    path = regard_home() / "display"
    path.mkdir(parents=True, exist_ok=True)
    return path


def screen_key(screen: ScreenRef) -> str:
    """File-name-safe identity of a screen (ScreenInfo, or a key/name given by the user)."""
    raw = screen.key if isinstance(screen, ScreenInfo) else str(screen)
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._") or "screen"
    return key[:120]


def _path(screen: ScreenRef) -> Path:
    return store_dir() / f"{screen_key(screen)}.json"


def _read(screen: ScreenRef) -> dict[str, Any]:
    path = _path(screen)
    if not path.is_file():
        return {"key": screen_key(screen), "results": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: display QA record unreadable ({exc})") from exc
    data.setdefault("results", [])
    return data


def _write(screen: ScreenRef, data: dict[str, Any]) -> Path:
    """Atomic write (temporary file + rename) so a crash never leaves half a record."""
    path = _path(screen)
    if isinstance(screen, ScreenInfo):
        data["screen"] = screen.to_dict()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)
    return path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(
    screen: ScreenRef, result: QAResult, when: dt.datetime | None = None, measured_by: str = ""
) -> Path:
    """Keep a QA result for ``screen`` with its date (UTC)."""
    data = _read(screen)
    entry = result.to_json()
    entry.pop("intervals", None)
    entry["date"] = (when or _now()).astimezone(dt.UTC).isoformat(timespec="seconds")
    if measured_by:
        entry["measured_by"] = measured_by
    data["results"].append(entry)
    return _write(screen, data)


def history(screen: ScreenRef) -> list[dict[str, Any]]:
    return list(_read(screen)["results"])


def last(screen: ScreenRef) -> dict[str, Any] | None:
    results = history(screen)
    return max(results, key=lambda r: r["date"]) if results else None


def reminder(
    screen: ScreenRef, policy: DisplayPolicy | None = None, now: dt.datetime | None = None
) -> str | None:
    """A reminder when the screen's last QA is older than the site's period (None if up to date)."""
    pol = policy or load_policy()
    period = int(pol.qa.get("period_days", 90))
    name = (screen.name or screen.key) if isinstance(screen, ScreenInfo) else str(screen)
    latest = last(screen)
    if latest is None:
        return f"Display QA of screen {name} has never been done (period {period} days)"
    when = dt.datetime.fromisoformat(latest["date"])
    age = ((now or _now()) - when).days
    if age <= period:
        return None
    return (
        f"Display QA of screen {name} is due: last on {when.date().isoformat()}, "
        f"{age} days ago (period {period} days)"
    )


def save_curve(screen: ScreenRef, curve: CharacteristicCurve, enabled: bool = True) -> Path:
    """Keep the screen's measured characteristic curve; ``enabled`` turns software GSDF on."""
    data = _read(screen)
    data["calibration"] = {
        "curve": curve.to_dict(),
        "enabled": bool(enabled),
        "date": _now().isoformat(timespec="seconds"),
    }
    return _write(screen, data)


def set_calibration_enabled(screen: ScreenRef, enabled: bool) -> None:
    data = _read(screen)
    if "calibration" not in data:
        raise ValueError(f"screen {screen_key(screen)} has no characteristic curve recorded")
    data["calibration"]["enabled"] = bool(enabled)
    _write(screen, data)


def load_curve(screen: ScreenRef) -> CharacteristicCurve | None:
    cal = _read(screen).get("calibration")
    if not cal:
        return None
    return CharacteristicCurve.from_dict(cal["curve"], str(_path(screen)))


def presentation_lut_for(screen: ScreenRef, entries: int = 256) -> PresentationLUT | None:
    """The GSDF presentation LUT to apply on this screen, or None when not enabled for it."""
    cal = _read(screen).get("calibration")
    if not cal or not cal.get("enabled"):
        return None
    curve = CharacteristicCurve.from_dict(cal["curve"], str(_path(screen)))
    return presentation_lut(curve, entries)


def known_screens() -> list[dict[str, Any]]:
    """Every screen with a record: key, description, last QA (for a QA overview)."""
    out = []
    for path in sorted(store_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            log.warning("%s: unreadable display QA record skipped", path)
            continue
        results = data.get("results", [])
        out.append(
            {
                "key": path.stem,
                "screen": data.get("screen"),
                "last": max(results, key=lambda r: r["date"]) if results else None,
                "calibration_enabled": bool(data.get("calibration", {}).get("enabled")),
            }
        )
    return out
