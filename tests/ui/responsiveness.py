"""Measuring how long the Qt event loop stays blocked while something runs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QTimer


def max_gap_ms(during: Callable[[], None], *, interval_ms: int = 5,
               clock: QElapsedTimer | None = None,
               record: list[tuple[float, float]] | None = None) -> tuple[float, int]:
    """Largest gap (ms) between timer ticks while ``during()`` runs, and the tick count.

    ``record`` receives (start, end) of every gap, in ms on ``clock``.
    """
    gaps: list[float] = []
    if clock is None:
        clock = QElapsedTimer()
        clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        if record is not None:
            record.append((last[0], now))
        last[0] = now

    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(tick)
    timer.start()
    during()
    timer.stop()
    return (max(gaps) if gaps else 1e9), len(gaps)
