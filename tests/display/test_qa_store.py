"""QA results per screen under REGARD_HOME, with reminders when the site's period has passed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from viewer.display import qa_store
from viewer.display.policy import load_policy
from viewer.display.qa import TG18_LN_LEVELS, Measurements, QAResult, evaluate
from viewer.display.screens import ScreenInfo

BARCO = ScreenInfo("DP-1", 2048, 2560, manufacturer="Barco", model="MDMG-5221", serial="A12345")


def a_result() -> QAResult:
    lum = [0.8 * (450 / 0.8) ** (k / 17) for k in range(18)]
    return evaluate(Measurements(list(TG18_LN_LEVELS), lum, 0.1), "review")


def test_results_are_kept_per_screen_with_date(regard_home: Path) -> None:
    when = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    path = qa_store.record(BARCO, a_result(), when)
    assert path.parent == regard_home / "display"
    data = json.loads(path.read_text())
    assert data["screen"]["serial"] == "A12345" and data["screen"]["model"] == "MDMG-5221"
    assert data["results"][0]["date"] == "2026-01-05T09:30:00+00:00"
    assert qa_store.last(BARCO)["date"].startswith("2026-01-05")
    assert qa_store.history(ScreenInfo("other", 1600, 1200)) == []


def test_the_key_follows_the_serial_not_the_connector() -> None:
    moved = ScreenInfo(
        "HDMI-2", 2048, 2560, manufacturer="Barco", model="MDMG-5221", serial="A12345"
    )
    qa_store.record(BARCO, a_result())
    assert qa_store.last(moved) is not None


def test_reminder_after_the_site_period(regard_home: Path) -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert "never been done" in qa_store.reminder(BARCO, now=now)
    qa_store.record(BARCO, a_result(), now - dt.timedelta(days=30))
    assert qa_store.reminder(BARCO, now=now) is None
    qa_store.record(BARCO, a_result(), now - dt.timedelta(days=100))  # older, out of order
    assert qa_store.reminder(BARCO, now=now) is None
    late = now + dt.timedelta(days=70)
    text = qa_store.reminder(BARCO, now=late)
    assert text is not None and "100 days ago (period 90 days)" in text
    monthly = load_policy({"display": {"qa": {"period_days": 30}}})
    assert qa_store.reminder(BARCO, monthly, now=now + dt.timedelta(days=1)) is not None
