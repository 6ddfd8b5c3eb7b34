"""Curved MPR tool: click a centre line in a viewport, double-click ends, another shows the CPR.

Thin Qt glue over :mod:`viewer.render.curved` (Qt-free). The tool is an event
filter on the *source* :class:`~viewer.ui.viewport.SliceViewport` (2-D or an
MPR view): each left click adds a point (LPS, on the shown plane), a
double-click adds its point and ends the line, Escape drops it, Backspace
removes the last point. The straightened CPR (lateral direction in the
clicked plane at angle 0: ``tangent x plane normal``) is shown in the
*target* viewport as a one-slice volume whose voxel grid is the CPR's own
pixels (:func:`cpr_volume`: x = lateral mm, y = arc length mm), so the
target keeps all its ordinary tools (window/level, zoom, pan, distance:
distances along and across the straightened vessel are in true mm). In the
target, ``[`` and ``]`` spin the CPR about the centre line by
``ROTATE_STEP`` degrees and ``P`` switches to the dental panoramic and back
(arch clicked on an axial view: head up, ``width_mm`` tall); its cursor
read-out is mapped back to the patient point
(:attr:`CurvedMPRTool.cursor_lps`), which is marked on the source view.

Orientation labels (:func:`curve_edge_labels`) replace the target's own
(its one-slice volume has no patient frame): the two edges the curve runs
between get the patient direction of its first and last points (top/bottom
of a straightened CPR, left/right of a panoramic), the two others the
direction across the curve (head/foot for a panoramic, the lateral direction
of a CPR) when it stays within 45 degrees along the whole curve, else nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent

from viewer.dicom.geometry import Geometry, orientation_label
from viewer.dicom.volume import Volume
from viewer.render.curved import CurvedImage, CurveError, panoramic, straightened_cpr
from viewer.ui.i18n import tr as translate
from viewer.ui.roi_tools import Shape, ViewportTool

log = logging.getLogger(__name__)

ROTATE_STEP = 10.0
# a component under this fraction of a direction gets no letter: hand-clicked ends are
# never exactly along an axis, and "RPH" for a curve running right to left helps no one
MIN_COMPONENT = 0.3
SAME_DIRECTION = np.cos(np.radians(45.0))


def direction_letters(vector: np.ndarray) -> str:
    """Patient direction letters (L/R, A/P, H/F, strongest first) of an LPS vector, without
    the components under :data:`MIN_COMPONENT` of its length; "" for a zero vector."""
    v = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(v))
    if norm < 1e-9:
        return ""
    v = v / norm
    return orientation_label(np.where(np.abs(v) >= MIN_COMPONENT, v, 0.0))


def _curve_ends(image: CurvedImage) -> tuple[np.ndarray, np.ndarray]:
    """Directions of the curve's first and last points: along the chord between them, or
    from the curve's centroid when the curve nearly closes on itself."""
    pts = image.centreline.points
    chord = pts[-1] - pts[0]
    if np.linalg.norm(chord) >= 0.25 * max(image.centreline.length, 1e-9):
        return -chord, chord
    centre = pts.mean(axis=0)
    return pts[0] - centre, pts[-1] - centre


def _steady_direction(vectors: np.ndarray) -> np.ndarray | None:
    """Mean of unit ``vectors`` when every one is within 45 degrees of it, else None."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    units = vectors[norms[:, 0] > 1e-9] / norms[norms[:, 0] > 1e-9]
    if not len(units):
        return None
    mean = units.mean(axis=0)
    length = float(np.linalg.norm(mean))
    if length < 1e-9 or np.min(units @ (mean / length)) < SAME_DIRECTION:
        return None
    return mean / length


def curve_edge_labels(image: CurvedImage) -> dict[str, str]:
    """Orientation letters for the four edges of a curved reformat (module docstring)."""
    first, last = (direction_letters(v) for v in _curve_ends(image))
    p = image.points
    if image.kind == "panoramic":  # columns follow the curve, rows go down
        across = _steady_direction(p[0, :] - p[-1, :])  # towards the top edge
        up = direction_letters(across) if across is not None else ""
        down = direction_letters(-across) if across is not None else ""
        return {"left": first, "right": last, "top": up, "bottom": down}
    across = _steady_direction(p[:, -1] - p[:, 0])  # towards the right edge
    right = direction_letters(across) if across is not None else ""
    left = direction_letters(-across) if across is not None else ""
    return {"left": left, "right": right, "top": first, "bottom": last}


def curve_corner_text(image: CurvedImage, tr: Callable[[str], str] = translate) -> str:
    """Bottom-left corner of a curved reformat: what it is, the curve's length and, for a
    CPR, its spin angle (its one slice has no slice number or position)."""
    length = tr("Length {mm} mm").format(mm=f"{image.centreline.length:.1f}")
    if image.kind == "panoramic":
        return "\n".join((tr("Panoramic"), length))
    angle = tr("Angle {deg}°").format(deg=f"{image.angle_deg:+.0f}")
    return "\n".join((tr("Curved MPR"), length, angle))


def cpr_volume(image: CurvedImage, like: Volume) -> Volume:
    """The CPR as a one-slice Volume in its own pixel frame (module docstring).

    Pixels outside the source volume get its minimum value. Modality, units,
    window, photometric interpretation and the lossy flag follow the source.
    """
    values = image.values
    finite = values[np.isfinite(values)]
    floor = float(np.nanmin(like.array)) if like.array.size else 0.0
    if finite.size:
        floor = min(floor, float(finite.min()))
    array = np.where(np.isfinite(values), values, floor).astype(np.float32)[None]
    rows, cols = image.shape
    geometry = Geometry((cols, rows, 1), (image.col_spacing, image.row_spacing, 1.0),
                        np.zeros(3), np.eye(3))
    meta = dict(like.meta)
    meta["series_description"] = ("Panoramic" if image.kind == "panoramic"
                                  else f"Curved MPR {image.angle_deg:+.0f}°")
    return replace(
        like, array=array, geometry=geometry, series_uid=f"{like.series_uid}.cpr",
        slice_positions=None, warnings=[*like.warnings, "curved reformat"], meta=meta,
        frame_of_reference_uid="",  # its grid is the CPR's pixels, not patient coordinates
        source_files=[], source_frames=[], gaps_along_normal=None,
    )


class CurvedMPRTool(ViewportTool):
    """Centre-line clicks on ``viewport``; the CPR goes to ``target`` (module docstring)."""

    finished = Signal(object)  # the CurvedImage
    cursor_lps = Signal(object, object)  # LPS point and value under the cursor in the CPR

    def __init__(self, viewport: object, target: object, width_mm: float = 40.0) -> None:
        super().__init__(viewport)
        self.target = target
        self.width_mm = float(width_mm)
        self.points: list[np.ndarray] = []
        self.normal: np.ndarray | None = None
        self.angle = 0.0
        self.mode = "cpr"  # or "panoramic"
        self.marker: np.ndarray | None = None  # LPS under the cursor in the CPR
        self.image: CurvedImage | None = None
        self.centre_line: list[np.ndarray] = []  # the last finished line (kept drawn)
        self._target_filter = _TargetKeys(self)
        target.installEventFilter(self._target_filter)  # type: ignore[attr-defined]
        target.cursor_moved.connect(self._target_cursor)  # type: ignore[attr-defined]
        self._shown: Volume | None = None  # the reformat last put in the target
        self._override_corners(target.model)  # type: ignore[attr-defined]

    def _override_corners(self, model: object) -> None:
        """The target's bottom-left corner describes the reformat while it shows it (the
        model's slice number and position of a one-slice volume would be meaningless)."""
        own = model.corner_texts  # type: ignore[attr-defined]

        def corner_texts(tr: Callable[[str], str] = lambda s: s) -> dict[str, str]:
            texts = own(tr)
            if self.image is not None and model.volume is self._shown:  # type: ignore[attr-defined]
                texts["bottom-left"] = curve_corner_text(self.image, tr)
            return texts

        model.corner_texts = corner_texts  # type: ignore[attr-defined]

    # ------------------------------------------------------------ clicks
    def mouse(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        if kind == QEvent.Type.MouseButtonPress:
            p = self.pick(event)
            if p is not None:
                if self.normal is None:
                    self.normal = self.plane_normal()
                self.points.append(p)
                self.redraw()
        elif kind == QEvent.Type.MouseButtonDblClick:
            p = self.pick(event)
            if p is not None and (not self.points or np.linalg.norm(p - self.points[-1]) > 1e-3):
                self.points.append(p)
            self.finish()
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.points:
            self.points, self.normal = [], None
            self.redraw()
            return True
        if event.key() == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self.redraw()
            return True
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            self.finish()
            return True
        return False

    def finish(self) -> CurvedImage | None:
        """End the line and show its CPR (None, and the line kept, if it cannot be made)."""
        points = np.array(self.points)
        try:
            self.compute(points, self.normal, 0.0)
        except CurveError as exc:
            log.info("curved MPR: %s", exc)
            self.redraw()
            return None
        self.centre_line = list(points)
        self.points = []
        self.redraw()
        return self.image

    def compute(self, points: np.ndarray, normal: np.ndarray | None, angle: float) -> None:
        volume = self.viewport.model.volume  # type: ignore[attr-defined]
        if volume is None:
            raise CurveError("no volume in the viewport")
        if self.mode == "panoramic":
            image = panoramic(volume, points, height_mm=self.width_mm)
        else:
            image = straightened_cpr(volume, points, width_mm=self.width_mm, angle_deg=angle,
                                     reference=normal)
        self.image, self.angle, self.normal = image, float(angle), normal
        self._shown = cpr_volume(image, volume)
        self.target.set_volume(self._shown)  # type: ignore[attr-defined]
        view = getattr(self.target, "view", None)
        if view is not None:  # the one-slice volume's own labels would be meaningless
            for edge, text in curve_edge_labels(image).items():
                view.set_corner_text(edge, text)
        self.finished.emit(image)

    def rotate(self, degrees: float) -> None:
        """Spin the CPR about the centre line (angle accumulates, modulo 360)."""
        if self.image is None:
            return
        self.compute(self.image.centreline.clicks, self.normal,
                     (self.angle + degrees) % 360.0)

    def set_mode(self, mode: str) -> None:
        """``cpr`` or ``panoramic``; recomputes the shown reformat."""
        if mode not in ("cpr", "panoramic"):
            raise ValueError(f"unknown curved mode {mode!r}: expected cpr or panoramic")
        self.mode = mode
        if self.image is not None:
            self.compute(self.image.centreline.clicks, self.normal, self.angle)

    # ------------------------------------------------------------ drawing
    def shapes(self) -> list[Shape]:
        out = []
        if self.centre_line:
            out.append(Shape(np.array(self.centre_line)))
        if self.points:
            out.append(Shape(np.array(self.points), markers=True))
        if self.marker is not None:
            out.append(Shape(self.marker[None], markers=True))
        return out

    # ------------------------------------------------------------ target
    def _target_cursor(self, lps: object, value: object) -> None:
        if self.image is None or lps is None:
            return
        p = np.asarray(lps, dtype=float)
        col = p[0] / self.image.col_spacing
        row = p[1] / self.image.row_spacing
        rows, cols = self.image.shape
        if not (-0.5 <= row <= rows - 0.5 and -0.5 <= col <= cols - 0.5):
            return
        point = self.image.pixel_to_lps(row, col)
        self.marker = point
        self.redraw()
        self.cursor_lps.emit(point, self.image.value_at(row, col))


class _TargetKeys(QObject):
    """``[`` / ``]`` in the CPR viewport rotate the CPR."""

    def __init__(self, tool: CurvedMPRTool) -> None:
        super().__init__(tool)
        self.tool = tool

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and self.tool.image is not None:
            assert isinstance(event, QKeyEvent)
            key = Qt.Key(event.key())
            step = {Qt.Key.Key_BracketLeft: -ROTATE_STEP,
                    Qt.Key.Key_BracketRight: ROTATE_STEP}.get(key)
            if step is not None:
                self.tool.rotate(step)
                return True
            if key == Qt.Key.Key_P:
                self.tool.set_mode("cpr" if self.tool.mode == "panoramic" else "panoramic")
                return True
        return False
