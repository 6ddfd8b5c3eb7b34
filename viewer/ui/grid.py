"""The viewport grid: layouts 1x1, 1x2, 2x2 and MPR (axial, coronal, sagittal + 3-D MIP).

In the MPR layout the three plane viewports share one :class:`VolumeImage`
and one :class:`~viewer.ui.models.MPRModel`: a click or drag with the
crosshair tool (the default left tool there) moves the crosshair point, every
plane passes through it, and each view draws the other planes' lines.
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QActionGroup, QContextMenuEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QMenu, QVBoxLayout, QWidget

from viewer.dicom.geometry import Geometry
from viewer.dicom.image2d import ImageSeries
from viewer.dicom.volume import Volume
from viewer.render.image import VolumeImage
from viewer.render.mpr import MPRScene
from viewer.render.volume_rendering import PRESETS, VolumeRenderView
from viewer.ui.i18n import tr
from viewer.ui.models import (
    LAYOUTS,
    MPR_PLANES,
    PLANE_COLORS,
    Demographics,
    MPRModel,
    ScrollSync,
    plane_intersection,
)
from viewer.ui.viewport import SliceViewport
from viewer.ui.viewport_display import CellDisplay, paste_banner
from viewer.ui.vtk_host import VTKHost

if TYPE_CHECKING:
    from viewer.ui.image_viewport import ImageViewport

log = logging.getLogger(__name__)

_ACTIVE = "#e0a030"
_IDLE = "#202020"


class Cell(QFrame):
    """A thin coloured frame around one viewport (the active one is highlighted)."""

    def __init__(self, child: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.child = child
        self.spare: QWidget | None = None  # the other viewport while one is shown
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(0)
        lay.addWidget(child)
        self.set_active(False)
        # the red "not for diagnosis" banner of this viewport's exam, and its screen's LUT
        self.display = CellDisplay(self)
        self.display.follow(child)

    def set_active(self, on: bool, color: str | None = None) -> None:
        self.setStyleSheet(f"Cell {{ background: {color or (_ACTIVE if on else _IDLE)}; }}")

    def show_child(self, child: QWidget) -> None:
        """Show ``child`` instead of the current one, which is kept hidden as ``spare``."""
        if child is self.child:
            return
        lay = self.layout()
        lay.removeWidget(self.child)
        self.child.hide()
        self.spare, self.child = self.child, child
        lay.addWidget(child)
        child.show()
        self.display.follow(child)


OVERVIEW_VOXELS = 1 << 25  # above this, the 3-D cell renders a 2x2 in-plane subsample


def overview_volume(volume: Volume) -> Volume:
    """The volume the MPR layout's 3-D cell renders: every other row and column of a big
    one (a quarter of the voxels), so that the CPU ray caster's first frame (min/max
    tables over every voxel, on the UI thread) stays short; small volumes as they are."""
    if volume.array.size <= OVERVIEW_VOXELS:
        return volume
    g = volume.geometry
    array = np.ascontiguousarray(volume.array[:, ::2, ::2])
    dims = (array.shape[2], array.shape[1], array.shape[0])
    spacing = (g.spacing[0] * 2, g.spacing[1] * 2, g.spacing[2])
    geometry = Geometry(dims, spacing, np.asarray(g.origin), np.asarray(g.direction))
    return dataclasses.replace(volume, array=array, geometry=geometry, source_files=[],
                               source_frames=[])


class View3D(VTKHost):
    """The 3-D cell of the MPR layout: viewer.render's CPU volume rendering, on demand.

    It re-renders only when its content, preset, camera or size changes (not while
    the crosshair moves). Left-drag rotates at reduced resolution
    (``VolumeRenderView.set_interacting``); full resolution on release. The
    context menu (right click) chooses the preset (ct-bone, ct-soft-tissue, ...).
    """

    preset_changed = Signal(str)
    data_changed = Signal()  # a new volume (the cell's banner checks its modality)
    DEGREES_PER_PIXEL = 0.5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene: VolumeRenderView | None = None
        self._last: QPointF | None = None
        self.preset_menu = QMenu(tr("3-D preset"), self)
        self._preset_group = QActionGroup(self)
        for name in PRESETS:
            act = self.preset_menu.addAction(name)
            act.setCheckable(True)
            act.setData(name)
            self._preset_group.addAction(act)
            act.triggered.connect(lambda _c=False, n=name: self.set_preset(n))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)

    def set_data(self, data: VolumeImage) -> None:
        if self.scene is not None:
            self.render_window.RemoveRenderer(self.scene.renderer)
        # the layout's 3-D MIP: no shading, so no gradient pass over the whole volume
        # (a shaded preset's first frame took 3-5 s for 512x512x300 on llvmpipe)
        self.scene = VolumeRenderView(overview_volume(data.volume),
                                      render_window=self.render_window, preset="mip")
        # first picture at reduced resolution: a full one takes ~0.5-1 s on llvmpipe on the
        # UI thread (bench/interaction.py) and would stall the study's opening; full
        # resolution once the user has turned the volume (release)
        self.scene.set_interacting(True)
        self._check_preset()
        self.request_render()
        self.data_changed.emit()

    def set_preset(self, name: str) -> None:
        """Transfer functions of preset ``name`` (viewer.render.volume_rendering.PRESETS)."""
        if self.scene is None:
            return
        self.scene.set_preset(name)
        self._check_preset()
        self.preset_changed.emit(name)
        self.request_render()

    def _check_preset(self) -> None:
        for act in self._preset_group.actions():
            act.setChecked(self.scene is not None and act.data() == self.scene.preset)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.scene is not None:
            self.preset_menu.popup(event.globalPos())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.scene is not None:
            self._last = event.position()
            self.scene.set_interacting(True)  # coarse rays while the volume turns
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None or self.scene is None:
            return
        pos = event.position()
        dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
        self._last = pos
        k = self.DEGREES_PER_PIXEL
        self.scene.rotate(azimuth=-dx * k, elevation=dy * k)
        self.request_render()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is not None and self.scene is not None:
            self.scene.set_interacting(False)  # full resolution once the drag ends
            self.request_render()
        self._last = None
        event.accept()

    def wheelEvent(self, event: object) -> None:
        pass

    def keyPressEvent(self, event: object) -> None:
        pass


class ViewportGrid(QWidget):
    """Holds the viewports of the current layout and which one is active.

    The viewports are kept across layout changes (a pool): the 1x1, 1x2 and 2x2 layouts
    show the first one, two or four of the same 2-D cells, the MPR layout its own four
    (three planes and the 3-D view). A layout change shows, hides and places cells; a
    cell that shows the same series before and after keeps its viewport as it was (slice,
    window, zoom, measurements) and no OpenGL window is made again. A hidden cell never
    keeps an exam the grid no longer shows (it would come back in a later layout).
    """

    active_changed = Signal(object)
    cursor_moved = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewportGrid")
        self.setStyleSheet("#viewportGrid { background: #101010; }")
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.layout_name = ""
        self.cells: list[Cell] = []
        self.viewports: list[SliceViewport] = []
        self.view3d: View3D | None = None
        self.active: SliceViewport | None = None
        self.images: dict[int, ImageViewport] = {}  # cell index -> its 2-D image viewport
        self.mpr: MPRModel | None = None
        self.scene: MPRScene | None = None
        self._syncing = False
        self.sync = ScrollSync()
        self.sync_on = False
        self.reference_lines = True
        # SliceView -> the reference lines it draws (a new view starts with none)
        self._shown_lines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # the pool: 2-D cells by position (made on first use), their image viewports, the
        # MPR layout's cells and, while another layout is shown, its model and scene
        self._flat: list[Cell] = []
        self._image_pool: dict[int, ImageViewport] = {}
        self._mpr_cells: list[Cell] = []
        self._kept_mpr: tuple[MPRModel, MPRScene] | None = None
        self.set_layout("1x1")

    # ------------------------------------------------------------- layout
    def shown_items(self) -> list[tuple[Volume | ImageSeries, Demographics | None]]:
        """What the grid shows, cell by cell: (volume or 2-D series, demographics) pairs
        (the MPR layout: its one volume, not once per plane)."""
        if self.layout_name == "mpr":
            shown = self.mpr is not None and all(vp.view is not None for vp in self.viewports)
            vp = self.viewports[0]
            return [(vp.model.volume, vp.model.demographics)] if shown else []
        items: list[tuple[Volume | ImageSeries, Demographics | None]] = []
        for n, vp in enumerate(self.viewports):
            ivp = self.images.get(n)
            if ivp is not None and ivp.series is not None and self.cells[n].child is ivp:
                items.append((ivp.series, ivp.demographics))
            elif vp.view is not None and vp.model.volume is not None:  # not an emptied one
                items.append((vp.model.volume, vp.model.demographics))
        return items

    def set_layout(self, name: str) -> None:
        """Switch to ``name`` (1x1, 1x2, 2x2, mpr); what was shown before is shown again,
        from the first cell on, each cell that shows the same series keeping its state."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}: expected one of {', '.join(LAYOUTS)}")
        if name == self.layout_name and self.cells:
            return
        previous = self.shown_items()
        self._take_down()
        self.layout_name = name
        rows, cols = LAYOUTS[name]
        self.cells = self._mpr_pool() if name == "mpr" else self._flat_pool(rows * cols)
        self._place(rows, cols)
        self.viewports = [_slice_viewport(c) for c in self.cells
                          if not isinstance(c.child, View3D)]
        if name == "mpr":
            self.view3d = self.cells[3].child  # type: ignore[assignment]
        else:
            self.images = {n: self._image_pool[n] for n in range(len(self.cells))
                           if n in self._image_pool}
        self.set_active(self.viewports[0])
        self._show_again(previous)
        self._drop_hidden()
        self.update_reference_lines()  # a kept view may still draw a hidden cell's line

    def _take_down(self) -> None:
        """The current cells out of the grid, hidden (kept in the pool as they are)."""
        for ivp in self.images.values():
            ivp.stop()
        for cell in self.cells:
            self._layout.removeWidget(cell)
            cell.hide()
        if self.scene is not None and self.mpr is not None:
            self._kept_mpr = (self.mpr, self.scene)
        self.cells, self.viewports, self.view3d, self.active = [], [], None, None
        self.images = {}
        self.mpr, self.scene = None, None

    def _place(self, rows: int, cols: int) -> None:
        for n, cell in enumerate(self.cells):
            self._layout.addWidget(cell, n // cols, n % cols)
        for r in range(rows):
            self._layout.setRowStretch(r, 1)
        for c in range(cols):
            self._layout.setColumnStretch(c, 1)
        # rows/columns of a bigger layout before (the MPR made at start-up) keep their
        # stretch in a QGridLayout: without this a 1x1 got only a quarter of the grid
        for r in range(rows, self._layout.rowCount()):
            self._layout.setRowStretch(r, 0)
        for c in range(cols, self._layout.columnCount()):
            self._layout.setColumnStretch(c, 0)
        for cell in self.cells:  # shown with the grid (now, if it is visible)
            cell.show()
        if self.isVisible():  # sized now, not on the next event turn
            self._layout.activate()

    def _new_viewport(self, plane: str) -> SliceViewport:
        vp = SliceViewport(plane=plane)
        vp.activated.connect(self.set_active)
        vp.cursor_moved.connect(self.cursor_moved)
        return vp

    def _flat_pool(self, count: int) -> list[Cell]:
        """The first ``count`` cells of the 1x1/1x2/2x2 layouts (made on first use)."""
        while len(self._flat) < count:
            vp = self._new_viewport("acquisition")
            vp.model.events.connect(self._make_link(vp))
            self._flat.append(Cell(vp, self))
        return self._flat[:count]

    def _mpr_pool(self) -> list[Cell]:
        """The MPR layout's cells: axial, coronal, sagittal and the 3-D view."""
        if not self._mpr_cells:
            for plane in MPR_PLANES:
                vp = self._new_viewport(plane)
                vp.model.tool = "crosshair"
                vp.crosshair_picked.connect(self._crosshair_picked)
                vp.interacting.connect(self._mpr_interacting)
                vp.model.events.connect(self._make_point_sync(vp))
                cell = Cell(vp, self)
                cell.set_active(False, _rgb(PLANE_COLORS[plane]))
                self._mpr_cells.append(cell)
            self._mpr_cells.append(Cell(View3D(), self))
        return list(self._mpr_cells)

    def _show_again(self, previous: list[tuple[Volume | ImageSeries, Demographics | None]]
                    ) -> None:
        """After a layout change: ``previous`` from the first cell on; a cell that shows
        its item already is left as it is, a cell beyond them is emptied."""
        if self.layout_name == "mpr":
            volumes = [i for i in previous if isinstance(i[0], Volume)]
            kept, self._kept_mpr = self._kept_mpr, None
            if (volumes and kept is not None and kept[0].volume is volumes[0][0]
                    and all(vp.view is not None for vp in self.viewports)):
                self.mpr, self.scene = kept  # as the reader left it (crosshair, rotation)
            elif volumes:  # 2-D images (radiographs, cine) have no MPR
                self.show_mpr(*volumes[0])
            elif kept is not None:
                self._release_mpr()
            return
        for n in range(len(self.cells)):
            item = previous[n] if n < len(previous) else None
            if item is None:
                self._empty_cell(n)
            elif not self._cell_shows(n, item[0]):
                self._forget(n)  # a new viewport's state, as a new series gets
                self._show_item(n, item)

    def _cell_shows(self, index: int, content: Volume | ImageSeries) -> bool:
        cell, vp, ivp = self.cells[index], self.viewports[index], self.images.get(index)
        if isinstance(content, ImageSeries):
            return ivp is not None and cell.child is ivp and ivp.series is content
        return cell.child is vp and vp.view is not None and vp.model.volume is content

    def _forget(self, index: int) -> None:
        self.viewports[index].forget()
        ivp = self.images.get(index)
        if ivp is not None:
            ivp.forget()

    def _empty_cell(self, index: int) -> None:
        cell, vp = self.cells[index], self.viewports[index]
        if cell.child is not vp:
            self.images[index].clear()
            cell.show_child(vp)
        if vp.view is not None:
            vp.clear()
        self._forget(index)

    def _drop_hidden(self) -> None:
        """Hidden cells let go of what the grid does not show any more (its memory, and
        no other exam comes back with a later layout)."""
        shown = [content for content, _ in self.shown_items()]

        def gone(content: object) -> bool:
            return content is not None and not any(content is s for s in shown)

        for n, cell in enumerate(self._flat):
            if cell in self.cells:
                continue
            ivp, vp = self._image_pool.get(n), _slice_viewport(cell)
            if ivp is not None and gone(ivp.series):
                ivp.clear()
            if vp.view is not None and gone(vp.model.volume):
                vp.clear()
        if self._kept_mpr is not None and gone(self._kept_mpr[0].volume):
            self._kept_mpr = None
            self._release_mpr()

    def _release_mpr(self) -> None:
        """The MPR cells emptied (their scene and its volume let go)."""
        for cell in self._mpr_cells:
            child = cell.child
            if isinstance(child, SliceViewport):
                if child.view is not None:
                    child.clear()
            elif isinstance(child, View3D) and child.scene is not None:
                child.render_window.RemoveRenderer(child.scene.renderer)
                child.scene = None
                child.request_render()

    # -------------------------------------------------------------- content
    def show_volumes(self, items: list[tuple[Volume, Demographics | None] | None]) -> None:
        """First volume in the active viewport (MPR: in all planes), the next ones after it;
        a ``None`` item leaves its viewport as it is."""
        if not any(items):
            return
        if self.layout_name == "mpr":
            volumes = [i for i in items if i is not None and isinstance(i[0], Volume)]
            if volumes:  # 2-D images (radiographs, cine) have no MPR
                self.show_mpr(*volumes[0])
            return
        start = self.viewports.index(self.active) if self.active in self.viewports else 0
        for n, item in enumerate(items):
            if start + n >= len(self.viewports):
                break
            if item is not None:
                self._show_item(start + n, item)
        self._drop_hidden()

    def _show_item(self, index: int, item: tuple[Volume | ImageSeries, Demographics | None]
                   ) -> None:
        """A volume in the cell's SliceViewport; a 2-D series (radiographs, cine, colour:
        viewer.dicom.image2d) in an ImageViewport shown in the cell instead."""
        cell, vp = self.cells[index], self.viewports[index]
        content, demographics = item
        if not isinstance(content, ImageSeries):
            if cell.child is not vp:
                self.images[index].clear()
                cell.show_child(vp)
            vp.set_volume(content, demographics=demographics)
            return
        from viewer.ui.image_viewport import ImageViewport

        ivp = self.images.get(index)
        if ivp is None:
            ivp = ImageViewport()
            ivp.activated.connect(lambda _w, vp=vp: self.set_active(vp))
            self.images[index] = self._image_pool[index] = ivp
        vp.clear()
        cell.show_child(ivp)
        ivp.set_series(content, demographics=demographics)
        if vp is self.active:
            ivp.setFocus()

    def show_volume(self, volume: Volume, demographics: Demographics | None = None) -> None:
        self.show_volumes([(volume, demographics)])

    def show_mpr(self, volume: Volume, demographics: Demographics | None = None) -> None:
        """Host viewer.render's MPRScene: one SliceView per plane viewport, shared data."""
        data = VolumeImage(volume)
        for vp in self.viewports:
            vp.clear()
            vp.forget()  # no tilt or slab of another volume's MPR
        windows = {n: vp.render_window for n, vp in zip(MPR_PLANES, self.viewports, strict=True)}
        self.scene = MPRScene(data, render_windows=windows)
        self.mpr = MPRModel(volume, views={n: vp.model for n, vp in zip(MPR_PLANES, self.viewports,
                                                                      strict=True)})
        for name, vp in zip(MPR_PLANES, self.viewports, strict=True):
            vp.scene_owns_plane = True
            vp.set_volume(volume, data=data, demographics=demographics,
                          view=self.scene.views[name])
            vp.model.set_tool("crosshair")
        self.set_crosshair(self.mpr.point)  # the middle voxel
        if self.view3d is not None:
            self.view3d.set_data(data)
        self._drop_hidden()

    def _crosshair_picked(self, lps: np.ndarray) -> None:
        if self.mpr is not None:
            self.set_crosshair(lps)

    def set_crosshair(self, lps: np.ndarray | tuple[float, float, float]) -> None:
        """Move the MPR crosshair (every plane follows) and re-render the three planes."""
        assert self.mpr is not None and self.scene is not None
        self._syncing = True
        try:
            self.mpr.set_point(lps)
            self.scene.set_point(self.mpr.point)  # planes and crosshair lines
        finally:
            self._syncing = False
        for vp in self.viewports:
            vp.request_render()

    def _mpr_interacting(self, on: bool) -> None:
        """A drag in one MPR plane re-slices all three: all go to cheap frames meanwhile."""
        for vp in self.viewports:
            vp.set_interacting(on)

    def rotate(self, about: str, degrees: float) -> None:
        """Oblique MPR: turn the other two planes about the ``about`` plane's normal."""
        assert self.mpr is not None and self.scene is not None
        self.scene.rotate(about, degrees)
        self.mpr.rotate(about, degrees)
        for vp in self.viewports:
            vp.request_render()

    def _make_point_sync(self, vp: SliceViewport):
        def on_change(changed: set[str]) -> None:
            # scrolling one MPR plane moves the crosshair point along its normal
            if "point" in changed and not self._syncing and self.mpr is not None:
                self.set_crosshair(vp.model.point)
        return on_change

    # ------------------------------------------- linked 2-D viewports (non-MPR)
    def _make_link(self, vp: SliceViewport):
        def on_change(changed: set[str]) -> None:
            if changed & {"point", "plane", "volume"}:
                if "point" in changed and self.sync_on:
                    self.sync.follow(vp.model, [v.model for v in self.viewports])
                self.update_reference_lines()
        return on_change

    def set_sync(self, on: bool) -> None:
        """Synchronised scrolling of the 2-D viewports, keeping their current offsets."""
        self.sync_on = bool(on)
        if on and self.active is not None and self.active.model.volume is not None:
            self.sync.link([v.model for v in self.viewports], self.active.model)
        else:
            self.sync.unlink()

    def update_reference_lines(self) -> None:
        """Cross-reference lines: in each viewport, where the others' planes cut it.

        Only between volumes of the same Frame of Reference (PS3.3 C.7.4.1): the
        patient coordinates of two frames of reference are not comparable.
        """
        if self.layout_name == "mpr":
            return
        shown = [v for v in self.viewports if v.view is not None and v.model.volume is not None]
        for vp in shown:
            lines = []
            if self.reference_lines:
                for other in shown:
                    if other is vp or not vp.model.frame_of_reference() or (
                            other.model.frame_of_reference() != vp.model.frame_of_reference()):
                        continue
                    cut = plane_intersection(vp.model.plane(), other.model.plane())
                    if cut is not None:
                        lines.append((cut[0], cut[1], (240, 200, 60)))
            if not _same_lines(lines, self._shown_lines.get(vp.view, [])):
                # re-render only the viewports whose lines moved (not all on every scroll)
                self._shown_lines[vp.view] = lines
                vp.view.set_crosshair(lines)
                vp.request_render()

    # ----------------------------------------------------------------- slab
    def set_slab(self, thickness_mm: float, mode: str = "mip") -> None:
        """Thick slab (MIP, MinIP or mean) of ``thickness_mm`` centred on the shown plane.

        MPR layout: the three planes; otherwise the active viewport. 0 = thin slice.
        """
        targets = self.viewports if self.layout_name == "mpr" else (
            [self.active] if self.active is not None else [])
        for vp in targets:
            vp.model.set_slab(thickness_mm, mode)

    # --------------------------------------------------------------- active
    def set_active(self, vp: SliceViewport) -> None:
        self.active = vp
        for cell in self.cells:
            if self.layout_name != "mpr":
                cell.set_active(vp in (cell.child, cell.spare))
        self.active_changed.emit(vp)

    def hosts(self) -> list[VTKHost]:
        """The VTK hosts shown now (one a cell)."""
        return [c.child for c in self.cells if isinstance(c.child, VTKHost)]

    def all_hosts(self) -> list[VTKHost]:
        """Every VTK host the grid keeps, shown or not (the pool)."""
        cells = [*self._flat, *self._mpr_cells]
        return [h for c in cells for h in (c.child, c.spare) if isinstance(h, VTKHost)]

    def close_vtk(self) -> None:
        """Release the OpenGL contexts of all the grid's hosts (before it goes)."""
        for ivp in self._image_pool.values():
            ivp.stop()
        for host in self.all_hosts():
            host.close_vtk()

    def render_all(self) -> None:
        for host in self.hosts():
            host.render_now()

    # ----------------------------------------------------------- screenshot
    def capture(self) -> np.ndarray:
        """The grid as displayed (images and overlays), RGB uint8, from VTK's own pixels.

        ``QWidget.grab()`` never holds VTK's pixels (PLATFORM.md): each render
        window is read back with vtkWindowToImageFilter and pasted where its
        widget sits; the cell frames are drawn in their colours.
        """
        ratio = self.devicePixelRatioF()
        h, w = round(self.height() * ratio), round(self.width() * ratio)
        out = np.full((h, w, 3), 16, dtype=np.uint8)
        for cell in self.cells:
            pos = cell.mapTo(self, QPoint(0, 0))
            x0, y0 = round(pos.x() * ratio), round(pos.y() * ratio)
            cw, ch = round(cell.width() * ratio), round(cell.height() * ratio)
            out[y0:y0 + ch, x0:x0 + cw] = _frame_rgb(cell)
            paste_banner(out, cell, self, ratio)  # "not for diagnosis", as displayed
            host = cell.child
            if not isinstance(host, VTKHost):
                continue
            rgb = host.capture()
            p = host.mapTo(self, QPoint(0, 0))
            x, y = round(p.x() * ratio), round(p.y() * ratio)
            hh, ww = min(rgb.shape[0], h - y), min(rgb.shape[1], w - x)
            out[y:y + hh, x:x + ww] = rgb[:hh, :ww]
        return out


def _slice_viewport(cell: Cell) -> SliceViewport:
    """A 2-D cell's SliceViewport (shown, or kept while its image viewport is)."""
    vp = cell.child if isinstance(cell.child, SliceViewport) else cell.spare
    assert isinstance(vp, SliceViewport)
    return vp


def _same_lines(a: list, b: list) -> bool:
    """Whether two reference-line lists ((p, d, colour) ...) draw the same thing."""
    if len(a) != len(b):
        return False
    return all(ca == cb and np.allclose(pa, pb) and np.allclose(da, db)
               for (pa, da, ca), (pb, db, cb) in zip(a, b, strict=True))


def _rgb(c: tuple[int, int, int]) -> str:
    return f"#{c[0]:02x}{c[1]:02x}{c[2]:02x}"


def _frame_rgb(cell: Cell) -> tuple[int, int, int]:
    sheet = cell.styleSheet()
    i = sheet.find("#")
    if i < 0:
        return (32, 32, 32)
    hexa = sheet[i + 1:i + 7]
    return (int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16))

