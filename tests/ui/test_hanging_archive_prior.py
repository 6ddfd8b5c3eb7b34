"""A prior the browser only knows from an archive (its series listed by a series query,
not retrieved) cannot fill a cell: the main window hangs the study without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewer.dicom.phantom import write_phantom_series
from viewer.hanging import save_user_protocol
from viewer.ui.browser_query import row_from_archive


@pytest.mark.gui
def test_an_archive_only_prior_is_not_hung(qtbot, qapp, tmp_path: Path) -> None:
    write_phantom_series(tmp_path / "ct", study_uid="1.2.826.0.1.3680043.10.79.1",
                         series_description="Local CT", columns=64, rows=64, slices=20,
                         slice_mm=2.0, patient_id="ARC-PRI", extra={"StudyDate": "20250101"})
    prior = row_from_archive({
        "StudyInstanceUID": "1.2.826.0.1.3680043.10.79.2", "PatientID": "ARC-PRI",
        "StudyDate": "20200101", "ModalitiesInStudy": "CT", "archive": "PACS"})
    prior.series = [{"StudyInstanceUID": prior.study_uid, "Modality": "CT",
                     "SeriesInstanceUID": "1.2.826.0.1.3680043.10.79.2.1", "SeriesNumber": "1",
                     "SeriesDescription": "Old CT", "BodyPartExamined": "CHEST",
                     "NumberOfSeriesRelatedInstances": "40"}]
    # a protocol whose prior cell any CT series fills (the archive's series match would)
    save_user_protocol({"name": "CT and prior", "priority": 99, "match": {"modality": ["CT"]},
                        "stage": [{"name": "Alone", "layout": "1x1",
                                   "viewport": [{"modality": "CT"}]},
                                  {"name": "With prior", "layout": "1x2", "min_priors": 1,
                                   "viewport": [{"modality": "CT"},
                                                {"study": "prior", "modality": "CT"}]}]})
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    win.quiet = True
    qtbot.addWidget(win)
    win.show()
    win.load_viewers()
    win.browser.add_rows([prior])
    with qtbot.waitSignal(win.images_shown, timeout=60000):
        win.open_path(tmp_path)
    (row,) = [r for r in win.browser.rows if r.cached]
    assert [p.study_uid for p in win.priors_of(row)] == [prior.study_uid]  # it is a prior
    # ... but not on this machine: the CT opens alone, no empty prior cell
    assert (win.hanging_rule.stage, win.grid.layout_name) == ("Alone", "1x1")
    assert [s.stage for s in win.hanging_stages[1]] == ["Alone"]
    win.close()
