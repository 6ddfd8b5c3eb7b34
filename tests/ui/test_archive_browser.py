"""The study browser against a real Orthanc: search, series, retrieve/open, cancel/resume, errors.

Oracles: what was stored into the Orthanc (phantom series written here), the cache's own
index (instance counts), the audit journal (QUERY/RETRIEVE/TRANSFERRED records) and VTK's
pixels of the viewport after the retrieved series is opened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QElapsedTimer, Qt

from tests.ui.responsiveness import max_gap_ms
from tests.ui.seeded_archive import SeededArchive, seeded_archive
from tests.ui.station import archive_station
from viewer.archive.nodes import parse_address
from viewer.archive.orthanc import free_port

pytestmark = pytest.mark.gui

STUDY_UID = "1.2.826.0.1.3680043.8.498.4242001"
PRIOR_UID = "1.2.826.0.1.3680043.8.498.4242002"
PATIENT_ID = "ARCH-1"

Archive = SeededArchive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    with seeded_archive(tmp_path_factory.mktemp("archive_browser"), name="testpacs",
                        patient_name="ARCHIVE^BROWSER", patient_id=PATIENT_ID, study_uid=STUDY_UID,
                        prior_uid=PRIOR_UID, first_slices=60,
                        second_slices=30) as seeded:
        yield seeded


@pytest.fixture
def window(qtbot, qapp, archive: Archive):
    yield from archive_station(qtbot, "testpacs", archive.node)


def _search(qtbot, browser, archive_name: str = "testpacs") -> None:
    browser.archive.setCurrentIndex(browser.archive.findData(archive_name))
    browser.id_edit.setText(PATIENT_ID)
    with qtbot.waitSignal(browser.search_done, timeout=20000):
        browser.search_button.click()


def _select(qtbot, browser, study_uid: str) -> None:
    rows = browser.shown_rows()
    n = next(i for i, r in enumerate(rows) if r.study_uid == study_uid)
    with qtbot.waitSignal(browser.series_listed, timeout=20000):
        browser.table.selectRow(n)


def _cached(study_uid: str) -> int:
    from viewer.archive.cache import Cache

    return len(Cache().instances(study_uid))


def _records(action: str) -> list[dict]:
    from viewer.access.journal import AuditJournal

    return [r.to_dict() for r in AuditJournal().records(actions=[action])]


def test_search_lists_the_study_with_its_archive_series_and_priors(qtbot, window) -> None:
    browser = window.browser
    _search(qtbot, browser)
    rows = {r.study_uid: r for r in browser.shown_rows()}
    assert set(rows) == {STUDY_UID, PRIOR_UID}
    assert rows[STUDY_UID].source == "testpacs"
    assert rows[STUDY_UID].patient_id == PATIENT_ID
    # the source column shows the archive
    sources = {browser.proxy.index(r, 9).data() for r in range(browser.proxy.rowCount())}
    assert sources == {"testpacs"}
    # the search was recorded before the results were shown
    assert any(r.get("archive") == "testpacs" for r in _records("query"))
    # sortable: by study date, descending puts the current study first
    browser.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert browser.shown_rows()[0].study_uid == STUDY_UID
    _select(qtbot, browser, STUDY_UID)
    labels = [browser.series_list.item(i).text() for i in range(browser.series_list.count())]
    assert len(labels) == 2 and labels[0].startswith("#1") and "60" in labels[0]
    qtbot.waitUntil(lambda: browser.priors_list.count() == 1, timeout=20000)
    assert "[testpacs]" in browser.priors_list.item(0).text()


def test_retrieve_shows_progress_and_opens_the_first_series(qtbot, window,
                                                           archive: Archive) -> None:
    browser = window.browser
    _search(qtbot, browser)
    _select(qtbot, browser, STUDY_UID)
    seen: list[tuple[int, int]] = []
    with qtbot.waitSignal(window.images_shown, timeout=60000):
        job = browser.retrieve_selected()
        job.signals.progress.connect(lambda d, t, mb, rate: seen.append((d, t)))
    model = window.grid.active.model
    assert model.volume is not None and model.volume.dims == (128, 128, 60)
    rgb = window.grid.active.capture()
    assert rgb[20:-20, 20:-20].std() > 10  # pixels, not a blank viewport
    qtbot.waitUntil(lambda: STUDY_UID not in browser.jobs, timeout=60000)
    assert _cached(STUDY_UID) == archive.total
    assert seen and seen[-1][0] == seen[-1][1]
    widget = browser.retrievals.itemAt(browser.retrievals.count() - 2).widget()
    assert "images" in widget.bar.text() and "MB" in widget.bar.text()
    assert _records("retrieve") and _records("transferred")


def test_cancel_then_resume_fetches_only_the_rest(qtbot, window, archive: Archive) -> None:
    browser = window.browser
    _search(qtbot, browser)
    _select(qtbot, browser, STUDY_UID)
    row = next(r for r in browser.shown_rows() if r.study_uid == STUDY_UID)
    ended: list[str] = []

    def cancel_after_first_series(job) -> None:
        # in the worker, as soon as the first series is in: before the rest starts
        job.signals.first_ready.connect(lambda _f: job.cancel(),
                                        Qt.ConnectionType.DirectConnection)
        job.signals.cancelled.connect(lambda: ended.append("cancelled"))
        job.signals.finished.connect(lambda _r: ended.append("finished"))

    browser.retrieval_started.connect(cancel_after_first_series)
    browser.retrieve(row, archive.first_series)
    qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    browser.retrieval_started.disconnect(cancel_after_first_series)
    assert ended == ["cancelled"]
    assert _cached(STUDY_UID) == archive.first_count
    widget = browser.retrievals.itemAt(browser.retrievals.count() - 2).widget()
    assert not widget.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: STUDY_UID not in browser.jobs, timeout=5000)
    results = []
    job = browser.retrieve(row, archive.first_series)
    job.signals.finished.connect(results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    assert _cached(STUDY_UID) == archive.total
    assert results[0].fetched == archive.total - archive.first_count


def test_an_archive_that_is_down_is_named_and_the_others_answer(qtbot, window,
                                                               archive: Archive) -> None:
    browser = window.browser
    down = parse_address(f"dicom://NOBODY@127.0.0.1:{free_port()}", name="downpacs")
    port = archive.server.dimse_address.rsplit(":", 1)[1]
    # Orthanc checks the called AE title: the association is rejected (PS3.8 A-ASSOCIATE-RJ)
    rejecting = parse_address(f"dicom://NOTORTHANC@127.0.0.1:{port}", name="rejectpacs")
    browser.set_archives({"testpacs": archive.node, "downpacs": down,
                          "rejectpacs": rejecting})
    errors: list[str] = []
    browser.archive_error.connect(errors.append)
    t0 = time.monotonic()
    _search(qtbot, browser, "all")
    assert time.monotonic() - t0 < 15
    assert errors and "downpacs" in errors[-1] and "downpacs" in browser.status.text()
    assert "rejectpacs" in errors[-1]
    assert {r.study_uid for r in browser.shown_rows()} == {STUDY_UID, PRIOR_UID}
    # retrieving from it: a clear message naming it, and the window keeps running
    browser.archive.setCurrentIndex(browser.archive.findData("downpacs"))
    row = next(r for r in browser.rows if r.study_uid == PRIOR_UID)
    row.source = "downpacs"
    failed: list[str] = []
    browser.retrieval_started.connect(lambda job: job.signals.failed.connect(failed.append))
    browser.retrieve(row, None)
    qtbot.waitUntil(lambda: bool(failed), timeout=30000)
    assert "downpacs" in failed[0] and "downpacs" in browser.status.text()
    assert window.isVisible()


def test_event_loop_stays_responsive_during_a_retrieval(qtbot, window, archive: Archive,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from viewer.ui.vtk_host import VTKHost

    clock = QElapsedTimer()
    clock.start()
    # when a new viewport, or a new scene in a viewport (the streaming preview, then the
    # volume), drew its first frame: new actors compile their shaders then
    first_frames: list[tuple[float, float]] = []
    scenes: dict[int, int] = {}
    render_now = VTKHost.render_now

    def timed_render(host: VTKHost) -> None:
        start = clock.elapsed()
        scene = id(getattr(host, "view", None) or getattr(host, "scene", None))
        first = host.frames == 0 or scenes.get(id(host)) != scene
        scenes[id(host)] = scene
        render_now(host)
        if first:
            first_frames.append((start, clock.elapsed()))

    monkeypatch.setattr(VTKHost, "render_now", timed_render)
    browser = window.browser
    _search(qtbot, browser)
    _select(qtbot, browser, STUDY_UID)
    idle, _ = max_gap_ms(lambda: qtbot.wait(600), interval_ms=10)
    t0 = time.perf_counter()

    def retrieve() -> None:
        with qtbot.waitSignal(window.images_shown, timeout=60000):
            browser.retrieve_selected()
        qtbot.waitUntil(lambda: STUDY_UID not in browser.jobs and not window.tasks,
                        timeout=60000)

    gaps: list[tuple[float, float]] = []
    _, ticks = max_gap_ms(retrieve, interval_ms=10, clock=clock, record=gaps)
    assert time.perf_counter() - t0 > 0.1  # a real retrieval was measured, not a no-op
    assert ticks > 10
    assert _cached(STUDY_UID) == archive.total
    assert first_frames, "no viewport was drawn"

    def has_first_frame(a: float, b: float) -> bool:
        return any(a <= s and e <= b for s, e in first_frames)

    # Retrieval, decoding and layout: 100 ms is the goal; scheduler delays the idle loop
    # also suffers are not the UI's doing.
    other = max((b - a for a, b in gaps if not has_first_frame(a, b)), default=0.0)
    assert other < 100 + max(0.0, idle - 10), f"event loop blocked {other} ms (idle {idle} ms)"
    # A new viewport's or scene's first frame (OpenGL context + shaders, software GL here:
    # 50-120 ms each, more on a loaded machine) is drawn in a turn of its own, never several
    # at once.
    drawing = max((b - a for a, b in gaps if has_first_frame(a, b)), default=0.0)
    assert drawing < 400 + max(0.0, idle - 10), f"first frames blocked {drawing} ms"


def test_run_lists_extra_archives(qtbot, qapp, archive: Archive) -> None:
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.browser.set_archives({"demo": archive.node})
    names = [win.browser.archive.itemData(i) for i in range(win.browser.archive.count())]
    assert names == ["local", "all", "demo"]
    assert win.browser.source("demo").name == "demo"  # listed name = name in rows and audit
    with qtbot.waitSignal(win.browser.search_done, timeout=20000):
        win.browser.show_archive("demo")  # what run(archives=...) does: its studies listed
    rows = win.browser.shown_rows()
    assert {r.study_uid for r in rows} == {STUDY_UID, PRIOR_UID}
    assert {r.source for r in rows} == {"demo"}
