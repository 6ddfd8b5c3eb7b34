"""First image first: a retrieval from a real Orthanc shows its first image while the rest
streams in, then the full volume; one browser row per study after it; a cached study opens
from disk.

Ordering is asserted through signals, not timing: the retrieval's worker thread is held
(a direct connection on ``RetrieveJob.signals.arrived``, in that thread) until the window
has shown what was delivered so far, so the preview provably comes before the series is
complete. Oracles: the viewport's pixels (VTK read-back), the audit journal (one VIEW
record, made before the first pixel), the headers' Image Position along the normal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.ui.seeded_archive import SeededArchive, seeded_archive
from tests.ui.station import archive_station

pytestmark = pytest.mark.gui

STUDY_UID = "1.2.826.0.1.3680043.8.498.4343001"
PRIOR_UID = "1.2.826.0.1.3680043.8.498.4343002"
PATIENT_ID = "STREAM-1"
SLICES = 60

Archive = SeededArchive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    with seeded_archive(tmp_path_factory.mktemp("streaming"), name="streampacs",
                        patient_name="STREAMING^FIRST", patient_id=PATIENT_ID, study_uid=STUDY_UID,
                        prior_uid=PRIOR_UID, first_slices=SLICES,
                        second_slices=20) as seeded:
        yield seeded


@pytest.fixture
def window(qtbot, qapp, archive: Archive):
    yield from archive_station(qtbot, "streampacs", archive.node)


def _search_and_select(qtbot, browser) -> None:
    browser.archive.setCurrentIndex(browser.archive.findData("streampacs"))
    browser.id_edit.setText(PATIENT_ID)
    with qtbot.waitSignal(browser.search_done, timeout=20000):
        browser.search_button.click()
    rows = browser.shown_rows()
    n = next(i for i, r in enumerate(rows) if r.study_uid == STUDY_UID)
    with qtbot.waitSignal(browser.series_listed, timeout=20000):
        browser.table.selectRow(n)


def _views(study_uid: str) -> list[dict]:
    from viewer.access.journal import AuditJournal

    return [r.to_dict() for r in AuditJournal().records(actions=["view"])
            if study_uid in r.study_uids]


class Hold:
    """Holds the retrieval's worker (in ``arrived``, its own thread) until the window has
    shown every instance delivered so far, ``times`` times; then lets it run."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.delivered = 0
        self.shown = 0
        self.cond = threading.Condition()
        self.timed_out = False

    def arrived(self, paths: list, _total: int) -> None:  # worker thread
        with self.cond:
            self.delivered += len(paths)
            if self.times <= 0:
                return
            self.times -= 1
            if not self.cond.wait_for(lambda: self.shown >= self.delivered, timeout=30):
                self.timed_out = True

    def on_shown(self, n: int, _total: int) -> None:  # GUI thread
        with self.cond:
            self.shown = n
            self.cond.notify_all()


def _wheel(widget, steps: int) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _normal_positions(series) -> list[float]:
    out = []
    for n in range(len(series.frames)):
        ds = series.header(n)
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        normal = np.cross(iop[:3], iop[3:])
        out.append(float(np.dot([float(v) for v in ds.ImagePositionPatient], normal)))
    return out


def test_first_image_shown_before_the_series_is_complete_then_the_volume(
        qtbot, window, archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    from viewer.ui import retrieval

    monkeypatch.setattr(retrieval, "ARRIVAL_INTERVAL", 0.0)  # every instance reported
    browser, streaming = window.browser, window.streaming
    hold = Hold(times=2)
    events: list[str] = []
    seen: list[dict] = []  # what the screen showed at each preview step (GUI thread)

    def on_shown(n: int, total: int) -> None:
        view = streaming.preview.viewport
        rgb = window.grid.active.capture()
        seen.append({"n": n, "total": total, "std": float(rgb[40:-40, 40:-40].std()),
                     "label": streaming.loading_text, "views": len(_views(STUDY_UID)),
                     "positions": _normal_positions(view.series), "frame": view.frame})
        events.append(f"preview {n}")
        if len(seen) == 2:  # the user scrolls through what is there, while it streams
            before = view.frame
            step = 1 if before < n - 1 else -1
            _wheel(window.grid.active, step)
            seen[-1]["scrolled"] = (before, step, view.frame)
        hold.on_shown(n, total)

    streaming.shown.connect(on_shown)

    def started(job) -> None:
        job.signals.arrived.connect(hold.arrived, Qt.ConnectionType.DirectConnection)
        job.signals.first_ready.connect(lambda _f: events.append("series complete"))
        job.signals.finished.connect(lambda _r: events.append("study complete"))

    browser.retrieval_started.connect(started)
    window.images_shown.connect(lambda: events.append("volume shown"))
    _search_and_select(qtbot, browser)
    browser.retrieve_selected()
    qtbot.waitUntil(lambda: "volume shown" in events and "study complete" in events,
                    timeout=90000)
    assert not hold.timed_out, events
    # the order, by signals: two preview steps before the series was complete, then the volume
    assert events[:2] == ["preview 1", f"preview {seen[1]['n']}"], events
    assert events.index("preview 1") < events.index("series complete") \
        < events.index("volume shown"), events
    first, second = seen[0], seen[1]
    assert first["std"] > 10  # pixels, not a blank viewport
    assert first["label"] == f"Loading 1/{SLICES}"
    assert first["views"] == 1  # the VIEW record was made before the first pixel
    assert second["n"] == 2 and second["label"] == f"Loading 2/{SLICES}"
    positions = second["positions"]
    assert positions == sorted(positions)  # along the normal, whatever the arrival order
    before, step, after = second["scrolled"]
    assert after == before + step
    # then exactly what an open without preview shows: the volume, in the hanging's layout
    model = window.grid.active.model
    assert model.volume is not None and model.volume.dims == (128, 128, SLICES)
    assert window.grid.active.capture()[20:-20, 20:-20].std() > 10
    assert streaming.preview is None
    assert all("prepare_frame" not in vp.__dict__ for vp in window.grid.viewports)
    assert len(_views(STUDY_UID)) == 1  # once per study open, not once per step


def test_one_row_per_study_after_retrieval_and_a_cached_open(
        qtbot, window, archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    from viewer.archive.cache import Cache
    from viewer.ui import loader, streaming

    browser = window.browser
    _search_and_select(qtbot, browser)
    with qtbot.waitSignal(window.images_shown, timeout=90000):
        browser.retrieve_selected()
    qtbot.waitUntil(lambda: STUDY_UID not in browser.jobs and not window.tasks, timeout=90000)
    assert len(Cache().instances(STUDY_UID)) == archive.total
    rows = [r for r in browser.rows if r.study_uid == STUDY_UID]
    assert len(rows) == 1
    row = rows[0]
    assert row.cached and row.source == "streampacs"
    assert len(row.series) == 2  # the whole study was listed once it was all here
    shown = [r for r in browser.shown_rows() if r.study_uid == STUDY_UID]
    assert len(shown) == 1
    texts = [browser.proxy.index(r, 9).data() for r in range(browser.proxy.rowCount())]
    assert "streampacs (cached)" in texts
    # searching the archive again: still one row, still cached
    with qtbot.waitSignal(browser.search_done, timeout=20000):
        browser.search_button.click()
    assert [r for r in browser.rows if r.study_uid == STUDY_UID] == [row]
    assert sorted(r.study_uid for r in browser.shown_rows()) == sorted([STUDY_UID, PRIOR_UID])
    # the local list shows it once too
    browser.archive.setCurrentIndex(browser.archive.findData("local"))
    browser.id_edit.clear()
    browser.search()
    assert [r.study_uid for r in browser.shown_rows()] == [STUDY_UID]
    # priors: the patient's older study, once
    assert [p.study_uid for p in window.priors_of(row)] == [PRIOR_UID]
    # a cached study opens from disk (a double-click: no retrieval), its middle image first:
    # the volume's assembly (a worker) waits until the window has shown that image
    monkeypatch.setattr(streaming, "LOCAL_PREVIEW_MIN", 10)
    previewed = threading.Event()
    assemble = loader.assemble

    def assemble_after_preview(series, cancel=None):
        previewed.wait(30)
        return assemble(series, cancel=cancel)

    monkeypatch.setattr(loader, "assemble", assemble_after_preview)
    seen: list[dict] = []

    def on_shown(n: int, _total: int) -> None:
        view = window.streaming.preview.viewport
        seen.append({"n": n, "frame": view.frame, "label": window.streaming.loading_text,
                     "std": float(window.grid.active.capture()[40:-40, 40:-40].std())})
        previewed.set()

    window.streaming.shown.connect(on_shown)
    started: list[object] = []
    browser.retrieval_started.connect(started.append)
    views = len(_views(STUDY_UID))
    browser.table.selectRow(0)
    index = browser.proxy.index(0, 0)
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        browser.table.doubleClicked.emit(index)
    assert not started
    assert previewed.is_set() and len(seen) == 1
    assert seen[0]["n"] == SLICES and seen[0]["frame"] == SLICES // 2
    assert seen[0]["label"] == "Loading the volume..." and seen[0]["std"] > 10
    assert len(_views(STUDY_UID)) == views + 1  # one record for this open, not two
    assert window.grid.active.model.volume.dims == (128, 128, SLICES)
    assert window.grid.active.capture()[20:-20, 20:-20].std() > 10
    assert window.streaming.preview is None


def test_declined_at_the_first_image_nothing_is_shown_and_asked_once(
        qtbot, window, archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    browser, streaming = window.browser, window.streaming
    asked: list[int] = []

    def decline(items) -> bool:
        asked.append(len(items))
        return False

    monkeypatch.setattr(window.access_ui, "before_open", decline)
    refused: list[str] = []
    streaming.refused.connect(refused.append)
    shown: list[int] = []
    streaming.shown.connect(lambda n, _t: shown.append(n))
    window.images_shown.connect(lambda: shown.append(-1))
    _search_and_select(qtbot, browser)
    job = browser.retrieve_selected()
    done: list[object] = []
    job.signals.finished.connect(done.append)
    qtbot.waitUntil(lambda: bool(done) and not window.tasks, timeout=90000)
    assert refused == [STUDY_UID]
    assert asked == [1]  # asked once, at the first image; the full open did not ask again
    assert not shown
    assert _views(STUDY_UID) == []
    assert all(vp.view is None for vp in window.grid.viewports)


def test_two_retrievals_at_once_record_each_study_once(
        qtbot, window, archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first retrieval's preview is checked and recorded, then held while a second
    study's retrieval shows its own preview and opens; the first one's full open must not
    check and record its study again (the bookkeeping is per study, not the last preview's)."""
    from viewer.ui import retrieval

    monkeypatch.setattr(retrieval, "ARRIVAL_INTERVAL", 0.0)
    browser, streaming = window.browser, window.streaming
    release = threading.Event()
    previews: list[str] = []
    streaming.shown.connect(lambda _n, _t: previews.append(streaming.preview.study_uid))

    def hold_first(_paths: list, _total: int) -> None:  # the first study's worker thread
        release.wait(60)

    def started(job) -> None:
        if job.study_uid == STUDY_UID:
            job.signals.arrived.connect(hold_first, Qt.ConnectionType.DirectConnection)

    browser.retrieval_started.connect(started)
    _search_and_select(qtbot, browser)
    first = browser.retrieve_selected()
    qtbot.waitUntil(lambda: STUDY_UID in previews, timeout=60000)
    assert len(_views(STUDY_UID)) == 1  # recorded before its first image
    # the second study (the prior) while the first one is held
    rows = browser.shown_rows()
    n = next(i for i, r in enumerate(rows) if r.study_uid == PRIOR_UID)
    with qtbot.waitSignal(browser.series_listed, timeout=20000):
        browser.table.selectRow(n)
    with qtbot.waitSignal(window.images_shown, timeout=90000):
        second = browser.retrieve_selected()
    assert second is not first and PRIOR_UID in previews
    assert len(_views(PRIOR_UID)) == 1  # its preview's record, not another at its open
    done: list[object] = []
    first.signals.finished.connect(done.append)
    with qtbot.waitSignal(window.images_shown, timeout=90000):
        release.set()
    qtbot.waitUntil(lambda: bool(done) and not window.tasks, timeout=90000)
    assert len(_views(STUDY_UID)) == 1  # the first study's open did not record it again
    assert window.grid.viewports[0].model.volume is not None
    shown = {vp.model.volume.dims for vp in window.grid.viewports if vp.model.volume}
    assert (128, 128, SLICES) in shown
