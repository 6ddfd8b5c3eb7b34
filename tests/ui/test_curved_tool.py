"""Curved MPR tool in a real X window: clicks on a curved vessel give a straight band.

Oracles: an S-shaped tube of known radius built analytically in the axial
plane (patient space); click positions computed from its centre line with
the view's own projection; the band found in the captured pixels of the
CPR viewport; the LPS point under the cursor in the CPR checked against the
analytic curve.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.render.volumes import make_volume
from viewer.ui.curved_tool import CurvedMPRTool

pytestmark = pytest.mark.gui

CENTER = np.array([3.0, -5.0, 7.0])
R_ARC, R_TUBE = 8.0, 2.0


def _arc(lps: np.ndarray, c: np.ndarray, upper: bool) -> np.ndarray:
    d = lps - c
    rho = np.hypot(d[:, 0], d[:, 1])
    side = d[:, 1] >= 0 if upper else d[:, 1] <= 0
    ends = [c + np.array([R_ARC, 0, 0]), c - np.array([R_ARC, 0, 0])]
    to_end = np.min([np.linalg.norm(lps - e, axis=1) for e in ends], axis=0)
    return np.where(side, np.hypot(rho - R_ARC, d[:, 2]), to_end)


def s_distance(lps: np.ndarray) -> np.ndarray:
    lps = np.atleast_2d(lps)
    return np.minimum(_arc(lps, CENTER - np.array([R_ARC, 0, 0]), True),
                      _arc(lps, CENTER + np.array([R_ARC, 0, 0]), False))


def s_tube(lps: np.ndarray) -> np.ndarray:
    return 1000.0 * np.clip((R_TUBE - s_distance(lps)) + 0.5, 0.0, 1.0)


def clicks() -> np.ndarray:
    a = np.radians(np.arange(180.0, -1.0, -30.0))
    shift = np.array([R_ARC, 0, 0])
    first = CENTER - shift + R_ARC * np.column_stack([np.cos(a), np.sin(a), 0 * a])
    b = np.radians(np.arange(210.0, 361.0, 30.0))
    second = CENTER + shift + R_ARC * np.column_stack([np.cos(b), np.sin(b), 0 * b])
    return np.vstack([first, second])


def at(vp, lps: np.ndarray) -> QPoint:
    x, y = vp.view.to_display(lps)
    r = vp.device_ratio()
    return QPoint(round(x / r), round(y / r))


def cyan_mask(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., n].astype(int) for n in range(3))
    return (r < 160) & (g > 170) & (b > 200)


@pytest.fixture
def tube_grid(grid):
    volume = make_volume(s_tube, np.eye(3), (0.4, 0.4, 1.0), dims=(120, 110, 9),
                         center=tuple(CENTER), modality="CT", rescale_type="HU")
    grid.set_layout("1x2")
    source, target = grid.viewports[0], grid.viewports[1]
    source.set_volume(volume)
    source.model.set_point(CENTER)
    source.view.set_overlay_visible(False)
    source.render_now()
    return source, target


def drawn_curve(qtbot, source, target) -> CurvedMPRTool:
    """The S-curve of :func:`clicks` drawn in ``source`` and closed (Return): its CPR in
    ``target``."""
    tool = CurvedMPRTool(source, target, width_mm=12.0)
    tool.set_active(True)
    for p in clicks():
        qtbot.mouseClick(source, Qt.MouseButton.LeftButton, pos=at(source, p))
    qtbot.keyClick(source, Qt.Key.Key_Return)
    return tool


def test_clicked_centre_line_shows_as_a_straight_band_in_the_cpr_viewport(qtbot,
                                                                          tube_grid) -> None:
    source, target = tube_grid
    tool = CurvedMPRTool(source, target, width_mm=16.0)
    tool.set_active(True)
    pts = clicks()
    for p in pts[:-1]:
        qtbot.mouseClick(source, Qt.MouseButton.LeftButton, pos=at(source, p))
    assert len(tool.points) == len(pts) - 1
    # the pending centre line is drawn over the source image, through the clicks
    rgb = source.capture()
    mask = cyan_mask(rgb)
    assert mask.sum() > 50
    r = source.device_ratio()
    for p in pts[:-1]:
        x, y = (round(v) for v in source.view.to_display(p))
        assert mask[max(y - 6, 0):y + 7, max(x - 6, 0):x + 7].any()
    assert tool.image is None
    qtbot.mouseDClick(source, Qt.MouseButton.LeftButton, pos=at(source, pts[-1]))
    image = tool.image
    assert image is not None and not tool.points
    assert abs(image.centreline.length - 2 * np.pi * R_ARC) < 1.0
    # the target shows the CPR (its own pixel grid), a bright band down its middle
    assert target.model.volume.dims == (image.shape[1], image.shape[0], 1)
    target.model.set_window(500.0, 1000.0)
    target.view.set_overlay_visible(False)
    rgb = target.capture()
    bright = np.all(rgb >= 200, axis=-1)
    top = target.view.to_display((0.0, 0.0, 0.0))[1]
    bottom = target.view.to_display((0.0, (image.shape[0] - 1) * image.row_spacing, 0.0))[1]
    rows = np.flatnonzero(bright.any(axis=1))
    assert rows.min() <= top + 4 and rows.max() >= bottom - 4
    centre_x = target.view.to_display(((image.shape[1] - 1) / 2 * image.col_spacing, 0, 0))[0]
    mm = target.view.mm_per_pixel()
    for y in np.linspace(top + 5, bottom - 5, 12).astype(int):
        xs = np.flatnonzero(bright[y])
        assert xs.size, f"no band on screen row {y}"
        assert abs(xs.mean() - centre_x) < 0.5 / mm + 1.5  # centred within 0.5 mm
        assert (xs.max() - xs.min() + 1) * mm < 2 * R_TUBE + 0.6  # about the tube's width
    # the cursor over the CPR maps back to a patient point inside the tube
    centre = QPoint(round(centre_x / r), round((top + bottom) / 2 / r))
    with qtbot.waitSignal(tool.cursor_lps, timeout=2000) as info:
        qtbot.mouseMove(target, centre)
    lps, value = info.args
    assert s_distance(np.asarray(lps))[0] < 0.5 and value > 900
    # ... and that point is marked on the source view
    np.testing.assert_allclose(tool.marker, lps)
    mask = cyan_mask(source.capture())
    x, y = (round(v) for v in source.view.to_display(lps))
    assert mask[y - 5:y + 6, x - 5:x + 6].any()


def test_p_switches_to_the_panoramic_along_the_clicked_arch(qtbot, tube_grid) -> None:
    source, target = tube_grid
    tool = drawn_curve(qtbot, source, target)
    qtbot.keyClick(target, Qt.Key.Key_P)
    image = tool.image
    assert tool.mode == "panoramic" and image.kind == "panoramic"
    assert target.model.volume.dims == (image.shape[1], image.shape[0], 1)
    # the tube lies in the axial plane of the clicks: a horizontal band at mid-height
    heights = (np.arange(image.shape[0])[::-1] - (image.shape[0] - 1) / 2) * image.row_spacing
    assert image.values[np.abs(heights) < 1.0].min() > 800
    assert np.nanmax(image.values[np.abs(heights) > R_TUBE + 1.5]) < 1.0
    qtbot.keyClick(target, Qt.Key.Key_P)
    assert tool.mode == "cpr" and tool.image.kind == "cpr"


def test_brackets_spin_the_cpr_and_escape_drops_pending_clicks(qtbot, tube_grid) -> None:
    source, target = tube_grid
    tool = CurvedMPRTool(source, target, width_mm=12.0)
    tool.set_active(True)
    pts = clicks()
    for p in pts:
        qtbot.mouseClick(source, Qt.MouseButton.LeftButton, pos=at(source, p))
    qtbot.keyClick(source, Qt.Key.Key_Return)
    before = tool.image
    assert before is not None
    qtbot.keyClick(target, Qt.Key.Key_BracketRight)
    assert tool.angle == pytest.approx(10.0)
    cos = np.sum(tool.image.lateral * before.lateral, axis=1)
    np.testing.assert_allclose(cos, np.cos(np.radians(10.0)), atol=1e-6)
    assert "+10°" in target.model.volume.meta["series_description"]
    qtbot.mouseClick(source, Qt.MouseButton.LeftButton, pos=at(source, pts[0]))
    qtbot.keyClick(source, Qt.Key.Key_Escape)
    assert tool.points == []
    # switched off, the left button is the viewport's again (its distance tool works)
    tool.set_active(False)
    source.model.set_tool("distance")
    qtbot.mouseClick(source, Qt.MouseButton.LeftButton, pos=at(source, pts[0]))
    qtbot.mouseClick(source, Qt.MouseButton.LeftButton, pos=at(source, pts[3]))
    assert len(source.model.measurements) == 1 and tool.points == []


def edge_texts(vp) -> dict[str, str]:
    """The orientation letters the viewport's overlay shows at its four edges."""
    items = {item.anchor: item.text for item in vp.view.overlay.items()}
    return {edge: items.get(edge, "") for edge in ("left", "right", "top", "bottom")}


def test_curved_reformats_are_labelled_with_the_patient_directions(qtbot, tube_grid) -> None:
    """The S-curve is clicked from the patient's right (-x) to the left (+x), in an axial
    plane: the CPR runs top (R) to bottom (L); spun 90 degrees its lateral direction is the
    plane's normal (head/foot) all along; the panoramic runs R to L with the head up."""
    source, target = tube_grid
    tool = drawn_curve(qtbot, source, target)
    target.render_now()
    # the lateral direction turns with the S (radial on each arc): no side letter
    assert edge_texts(target) == {"left": "", "right": "", "top": "R", "bottom": "L"}
    for _ in range(9):
        qtbot.keyClick(target, Qt.Key.Key_BracketRight)
    target.render_now()
    labels = edge_texts(target)
    assert (labels["top"], labels["bottom"]) == ("R", "L")
    assert {labels["left"], labels["right"]} == {"H", "F"}
    # the letters agree with where the CPR's pixels are in the patient
    rows = tool.image.shape[0]
    towards_right = tool.image.points[rows // 2, -1] - tool.image.points[rows // 2, 0]
    assert labels["right"] == ("H" if towards_right[2] > 0 else "F")
    qtbot.keyClick(target, Qt.Key.Key_P)
    target.render_now()
    assert edge_texts(target) == {"left": "R", "right": "L", "top": "H", "bottom": "F"}
    assert target.model.volume.meta["series_description"] == "Panoramic"
    # the source view keeps its own plane's letters
    assert edge_texts(source) == source.view.plane.edge_labels()


def corner_text(vp, corner: str) -> str:
    return {item.anchor: item.text for item in vp.view.overlay.items()}.get(corner, "")


def test_curved_corner_text_gives_the_curve_not_a_slice_position(qtbot, tube_grid) -> None:
    """The one-slice reformat has no slice position or number: the corner gives the curve's
    length, the CPR's spin angle, or says it is the panoramic."""
    source, target = tube_grid
    tool = drawn_curve(qtbot, source, target)
    target.render_now()
    length = f"{tool.image.centreline.length:.1f} mm"
    text = corner_text(target, "bottom-left")
    assert "Position" not in text and "Image " not in text, text
    assert length in text and "+0°" in text, text
    qtbot.keyClick(target, Qt.Key.Key_BracketRight)
    target.render_now()
    assert "+10°" in corner_text(target, "bottom-left")
    qtbot.keyClick(target, Qt.Key.Key_P)
    target.render_now()
    text = corner_text(target, "bottom-left")
    assert "Panoramic" in text and length in text and "°" not in text, text
    source.render_now()
    assert "Panoramic" not in corner_text(source, "bottom-left")
    # an ordinary volume shown in the target afterwards gets its position back
    target.set_volume(source.model.volume)
    target.render_now()
    assert "Position" in corner_text(target, "bottom-left")
