"""Qt-free models of the reading station: what each viewport shows and how tools change it.

Follows napari's split (``napari/components``): these classes import neither
Qt nor VTK, hold the state (slice point, plane, window/level, zoom, pan, tool,
measurements, MPR crosshair), apply the tools' arithmetic, and tell listeners
what changed through :class:`Events`. The Qt widgets in :mod:`viewer.ui`
build VTK scenes (:mod:`viewer.render`) from them and keep them in sync.

Coordinates are patient LPS millimetres (PS3.3 C.7.6.2.1.1) throughout; the
plane conventions are those of :mod:`viewer.render.planes` (radiological).
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from viewer.dicom.geometry import orientation_label
from viewer.dicom.volume import Volume
from viewer.render.planes import Plane, make_plane
from viewer.resources import resource_path

log = logging.getLogger(__name__)

LAYOUTS: dict[str, tuple[int, int]] = {"1x1": (1, 1), "1x2": (1, 2), "2x2": (2, 2), "mpr": (2, 2)}
MPR_PLANES = ("axial", "coronal", "sagittal")
TOOLS = ("scroll", "window", "zoom", "pan", "distance", "crosshair")
SLAB_MODES = ("mip", "minip", "mean")
Line = tuple[np.ndarray, np.ndarray, tuple[int, int, int]]  # LPS point, direction, RGB

# Colours of the MPR planes (viewport frames), those of viewer.render.mpr's crosshair lines
# (3D Slicer's: red axial, green coronal, yellow sagittal).
PLANE_COLORS: dict[str, tuple[int, int, int]] = {
    "axial": (230, 80, 80),
    "coronal": (90, 200, 90),
    "sagittal": (230, 210, 70),
}


class Events:
    """A minimal event hub: ``connect(callback)``; callbacks get the set of changed names."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[set[str]], None]] = []
        self._blocked = 0
        self._pending: set[str] = set()

    def connect(self, callback: Callable[[set[str]], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[set[str]], None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *names: str) -> None:
        if self._blocked:
            self._pending.update(names)
            return
        for callback in list(self._callbacks):
            callback(set(names))

    def __enter__(self) -> Events:
        """Batch: emit once, with every name changed inside the ``with`` block."""
        self._blocked += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._blocked -= 1
        if not self._blocked and self._pending:
            names, self._pending = self._pending, set()
            self.emit(*names)


# --------------------------------------------------------------------- presets
@dataclass(frozen=True)
class WindowPreset:
    """A named window (width, level in modality units) and its keyboard shortcut."""

    id: str
    name: str
    width: float
    level: float
    shortcut: str = ""


def load_presets(path: str | None = None) -> dict[str, list[WindowPreset]]:
    """Window presets per modality from ``resources/presets/window_presets.toml``.

    A missing or malformed file is an error naming the file: presets are a
    site policy (STANDARDS.md "usual CT presets ... keep them in a policy file").
    """
    file = resource_path("presets/window_presets.toml") if path is None else path
    try:
        with open(file, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ValueError(f"window presets file not found: {file}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{file}: not valid TOML ({exc})") from exc
    out: dict[str, list[WindowPreset]] = {}
    for modality, items in data.items():
        presets = []
        for n, item in enumerate(items):
            try:
                width = float(item["width"])
                preset = WindowPreset(
                    str(item["id"]), str(item.get("name", item["id"])), width,
                    float(item["level"]), str(item.get("shortcut", "")),
                )
            except (KeyError, TypeError, ValueError) as exc:
                msg = f"{file}: preset {n + 1} of {modality} is invalid ({exc})"
                raise ValueError(msg) from exc
            if width < 1:
                raise ValueError(f"{file}: preset {preset.id} has a width below 1")
            presets.append(preset)
        out[modality.upper()] = presets
    return out


# ------------------------------------------------------------------ overlays
@dataclass
class Demographics:
    """What the four corners say about the patient and study (never logged)."""

    patient_name: str = ""
    patient_id: str = ""
    ins: str = ""
    ins_status: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_description: str = ""
    series_description: str = ""
    series_number: str = ""
    institution: str = ""

    @classmethod
    def from_volume(cls, volume: Volume) -> Demographics:
        """From a volume's ``meta`` (keys as :mod:`viewer.dicom.assemble` or DICOM keywords)."""
        m = volume.meta

        def get(*keys: str) -> str:
            return next((str(m[k]) for k in keys if m.get(k)), "")

        return cls(
            patient_name=get("patient_name", "PatientName"),
            patient_id=get("patient_id", "PatientID"),
            ins=get("ins", "INS"),
            ins_status=get("ins_status", "INSStatus", "ins_kind"),
            birth_date=get("birth_date", "PatientBirthDate"),
            sex=get("sex", "PatientSex"),
            study_date=get("study_date", "StudyDate"),
            study_description=get("study_description", "StudyDescription"),
            series_description=get("series_description", "SeriesDescription"),
            series_number=get("series_number", "SeriesNumber"),
        )


def format_da(value: str) -> str:
    """A DICOM DA (YYYYMMDD, PS3.5 6.2) as YYYY-MM-DD; anything else unchanged."""
    v = value.strip()
    if len(v) == 8 and v.isdigit():
        return f"{v[:4]}-{v[4:6]}-{v[6:]}"
    return v


def format_pn(value: str) -> str:
    """A DICOM PN (family^given^middle^prefix^suffix, PS3.5 6.2.1) as 'FAMILY Given'."""
    parts = value.split("=")[0].split("^")
    family = parts[0].strip().upper()
    given = " ".join(p.strip() for p in parts[1:3] if p.strip())
    return f"{family} {given}".strip()


def nice_scale_length(max_mm: float) -> float:
    """Largest 1, 2 or 5 x 10^n mm not longer than ``max_mm`` (scale bar length)."""
    if max_mm <= 0:
        return 0.0
    exp = math.floor(math.log10(max_mm))
    for m in (5, 2, 1):
        if m * 10**exp <= max_mm:
            return float(m * 10**exp)
    return float(10 ** (exp - 1) * 5)


# -------------------------------------------------------------- measurements
@dataclass
class Distance:
    """A distance measured between two LPS points (mm, PS3.3 C.7.6.2.1.1 patient space)."""

    p1: np.ndarray
    p2: np.ndarray

    @property
    def length_mm(self) -> float:
        return float(np.linalg.norm(np.asarray(self.p2, float) - np.asarray(self.p1, float)))

    def label(self) -> str:
        return f"{self.length_mm:.1f} mm"


# ------------------------------------------------------------------ viewport
def middle_voxel(volume: Volume) -> np.ndarray:
    """LPS centre of the middle voxel: a slice shown there is an acquired one, not a blend."""
    ijk = (np.asarray(volume.geometry.dims) - 1) // 2
    return volume.geometry.index_to_lps(ijk.astype(float))


def _slice_step(volume: Volume, normal: np.ndarray) -> float:
    """Voxel size along ``normal``: the scroll step (one slice for the acquisition plane)."""
    n_idx = np.linalg.solve(volume.geometry.affine[:3, :3], normal)
    return float(1.0 / max(np.abs(n_idx).max(), 1e-9))


def _centre_extent(volume: Volume, normal: np.ndarray) -> tuple[float, float]:
    """Min and max of the voxel centres projected on ``normal`` (mm from the LPS origin)."""
    g = volume.geometry
    d = np.asarray(g.dims, dtype=float) - 1
    corners = np.array([[x, y, z] for x in (0, d[0]) for y in (0, d[1]) for z in (0, d[2])])
    proj = g.index_to_lps(corners) @ normal
    return float(proj.min()), float(proj.max())


class ViewportModel:
    """State of one viewport showing one volume through one plane.

    Changes go through methods that validate them and emit the changed names
    on :attr:`events`: ``volume``, ``plane``, ``point``, ``window``, ``camera``
    (zoom/pan/true-size), ``invert``, ``slab``, ``tool``, ``measurements``,
    ``crosshair``.
    """

    def __init__(self, volume: Volume | None = None, plane: str = "acquisition") -> None:
        self.events = Events()
        self.volume: Volume | None = None
        self.plane_name = plane
        self.normal: np.ndarray | None = None  # oblique tilt of the named plane
        self.point = np.zeros(3)
        self.center, self.width = 40.0, 400.0
        self.zoom = 1.0
        self.pan = np.zeros(2)
        self.true_size = False
        self.invert = False
        self.slab_mm = 0.0
        self.slab_mode = "mip"
        self.tool = "scroll"
        self.measurements: list[Distance] = []
        self.pending_point: np.ndarray | None = None  # first click of a distance
        self.demographics = Demographics()
        self._plane_cache: tuple[tuple[object, ...], Plane] | None = None
        self.quarter_turns = 0
        self.flip_h = self.flip_v = False
        if volume is not None:
            self.set_volume(volume)

    # ------------------------------------------------------------- volume
    def set_volume(self, volume: Volume, demographics: Demographics | None = None) -> None:
        """Show ``volume``: middle slice, header or default window, fitted (IHE BIR default)."""
        from viewer.render.windowing import default_window

        self.volume = volume
        self.demographics = demographics or Demographics.from_volume(volume)
        self.point = middle_voxel(volume)
        self.center, self.width = default_window(volume)
        self.zoom, self.pan, self.true_size = 1.0, np.zeros(2), False
        self.measurements = []
        self.pending_point = None
        self.events.emit("volume", "point", "window", "camera", "measurements")

    def plane(self) -> Plane:
        """The current slice plane (a :class:`viewer.render.planes.Plane`)."""
        key = (self.plane_name, None if self.normal is None else tuple(self.normal),
               id(self.volume))
        key = (*key, self.quarter_turns, self.flip_h, self.flip_v)
        cached = self._plane_cache
        if cached is None or cached[0] != key:
            geometry = self.volume.geometry if self.volume is not None else None
            plane = make_plane(self.plane_name, self.point, geometry, self.normal)
            right, up = plane.right, plane.up
            for _ in range(self.quarter_turns % 4):  # clockwise on screen
                right, up = up, -right
            if self.flip_h:
                right = -right
            if self.flip_v:
                up = -up
            cached = (key, Plane(plane.point, right, up, plane.name))
            self._plane_cache = cached
        return cached[1].with_point(self.point)

    def rotate_quarter(self, turns: int = 1) -> None:
        """Rotate the 2-D image by 90 degrees clockwise per turn (orientation letters follow)."""
        self.quarter_turns = (self.quarter_turns + int(turns)) % 4
        self.events.emit("plane")

    def flip(self, horizontal: bool = True) -> None:
        """Mirror the image left-right (or top-bottom): the view is then seen from behind
        the plane, and the orientation letters say so."""
        if horizontal:
            self.flip_h = not self.flip_h
        else:
            self.flip_v = not self.flip_v
        self.events.emit("plane")

    def set_plane(self, name: str, normal: np.ndarray | None = None) -> None:
        self.quarter_turns, self.flip_h, self.flip_v = 0, False, False
        self.plane_name = name
        self.normal = None if normal is None else np.asarray(normal, dtype=float)
        self.zoom, self.pan = 1.0, np.zeros(2)
        self.events.emit("plane", "camera")

    # -------------------------------------------------------------- slices
    def slice_step(self) -> float:
        if self.volume is None:
            return 1.0
        return _slice_step(self.volume, self.plane().normal)

    def index_axis(self) -> np.ndarray:
        """Unit vector along which the slice number grows.

        Along the plane normal, signed to follow the volume's stack axis (k)
        so that, in the acquisition plane, image numbers follow the assembled
        slice order; into the screen when the plane contains the stack axis.
        """
        n = self.plane().normal
        k = self.volume.geometry.direction[:, 2] if self.volume is not None else -n
        s = float(n @ k)
        return n if s > 1e-6 else -n

    def slice_count(self) -> int:
        if self.volume is None:
            return 0
        lo, hi = _centre_extent(self.volume, self.index_axis())
        return round((hi - lo) / self.slice_step()) + 1

    def slice_index(self) -> int:
        """0-based index of the current slice (see :meth:`index_axis`)."""
        if self.volume is None:
            return 0
        axis = self.index_axis()
        lo, _ = _centre_extent(self.volume, axis)
        return round((float(self.point @ axis) - lo) / self.slice_step())

    def set_point(self, lps: np.ndarray | tuple[float, float, float]) -> None:
        p = np.asarray(lps, dtype=float).reshape(3)
        if not np.all(np.isfinite(p)):
            raise ValueError(f"not a point: {tuple(p)}")
        self.point = p.copy()
        self.events.emit("point")

    def set_slice(self, index: int) -> None:
        """Go to slice ``index`` (clamped to the volume), keeping the in-plane position."""
        if self.volume is None:
            return
        axis = self.index_axis()
        lo, _ = _centre_extent(self.volume, axis)
        index = min(max(int(index), 0), self.slice_count() - 1)
        target = lo + index * self.slice_step()
        self.set_point(self.point + (target - float(self.point @ axis)) * axis)

    def scroll(self, steps: int) -> None:
        """Move ``steps`` slices (positive: next image number), clamped to the volume."""
        self.set_slice(self.slice_index() + int(steps))

    def cine_step(self) -> None:
        """Cine: the next image, back to the first after the last (IHE BIR cine)."""
        if self.volume is None:
            return
        n = self.slice_index() + 1
        self.set_slice(0 if n >= self.slice_count() else n)

    def frame_of_reference(self) -> str:
        """Frame of Reference UID of the shown volume (PS3.3 C.7.4.1), '' when unknown."""
        return "" if self.volume is None else self.volume.frame_of_reference_uid

    # ---------------------------------------------------------- window/level
    def set_window(self, center: float, width: float) -> None:
        """Window centre and width (PS3.3 C.11.2.1.2: width >= 1)."""
        self.center, self.width = float(center), max(1.0, float(width))
        self.events.emit("window")

    def window_drag(self, dx: float, dy: float) -> None:
        """Right-drag: right widens the window, down raises the level (as most viewers).

        The step per screen pixel grows with the width, so a narrow brain window
        moves finely and a bone window quickly.
        """
        step = max(self.width / 256.0, 0.5)
        self.set_window(self.center + dy * step, self.width + dx * step)

    def apply_preset(self, preset: WindowPreset) -> None:
        self.set_window(preset.level, preset.width)

    # -------------------------------------------------------------- camera
    def set_zoom(self, zoom: float) -> None:
        if not zoom > 0:
            raise ValueError("zoom must be > 0")
        self.zoom = float(min(max(zoom, 0.05), 64.0))
        self.true_size = False
        self.events.emit("camera")

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def pan_by(self, du_mm: float, dv_mm: float) -> None:
        self.pan = self.pan + np.array([du_mm, dv_mm], dtype=float)
        self.events.emit("camera")

    def fit(self) -> None:
        self.zoom, self.pan, self.true_size = 1.0, np.zeros(2), False
        self.events.emit("camera")

    def set_true_size(self, on: bool = True) -> None:
        """1:1 "true pixel" mode: one image pixel per screen pixel (mammography QC)."""
        self.true_size = bool(on)
        self.events.emit("camera")

    def set_invert(self, on: bool) -> None:
        self.invert = bool(on)
        self.events.emit("invert")

    def set_slab(self, thickness_mm: float, mode: str = "mip") -> None:
        if mode not in SLAB_MODES:
            raise ValueError(f"unknown slab mode {mode!r}")
        self.slab_mm, self.slab_mode = max(0.0, float(thickness_mm)), mode
        self.events.emit("slab")

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}: expected one of {', '.join(TOOLS)}")
        self.tool = tool
        self.pending_point = None
        self.events.emit("tool")

    # --------------------------------------------------------- measurements
    def measure_click(self, lps: np.ndarray) -> Distance | None:
        """Distance tool: the first click anchors, the second completes the measurement."""
        p = np.asarray(lps, dtype=float).reshape(3)
        if self.pending_point is None:
            self.pending_point = p
            self.events.emit("measurements")
            return None
        d = Distance(self.pending_point, p)
        self.pending_point = None
        self.measurements.append(d)
        self.events.emit("measurements")
        return d

    def clear_measurements(self) -> None:
        self.measurements, self.pending_point = [], None
        self.events.emit("measurements")

    # -------------------------------------------------------------- overlays
    def corner_texts(self, tr: Callable[[str], str] = lambda s: s) -> dict[str, str]:
        """Four-corner annotation (IHE BIR: demographics and technique), translated by ``tr``."""
        d = self.demographics
        v = self.volume
        tl = [format_pn(d.patient_name), d.patient_id]
        if d.ins:
            status = f" ({d.ins_status})" if d.ins_status else ""
            tl.append(f"INS {d.ins}{status}")
        born = " ".join(x for x in (format_da(d.birth_date), d.sex) if x)
        tl.append(born)
        series = " ".join(x for x in (f"#{d.series_number}" if d.series_number else "",
                                      d.series_description) if x)
        tr_ = [format_da(d.study_date), d.study_description, series,
               v.modality if v is not None else ""]
        bl = []
        if v is not None:
            index, count, step = self._slice_numbers()
            bl.append(tr("Image {n}/{total}").format(n=index + 1, total=count))
            bl.append(tr("Position {pos}").format(pos=self.position_text()))
            if self.slab_mm > 0:
                bl.append(f"{self.slab_mode.upper()} {self.slab_mm:g} mm")
            else:
                bl.append(tr("Thickness {mm} mm").format(mm=f"{step:.2g}"))
        zoom = (tr("True size 1:1") if self.true_size
                else tr("Zoom {z}").format(z=f"{self.zoom:.2f}"))
        br = [f"W {self.width:g}  L {self.center:g}", zoom]
        return {
            "top-left": "\n".join(x for x in tl if x),
            "top-right": "\n".join(x for x in tr_ if x),
            "bottom-left": "\n".join(bl),
            "bottom-right": "\n".join(br),
        }

    def _slice_numbers(self) -> tuple[int, int, float]:
        """(slice_index(), slice_count(), slice_step()) for the corner text, drawn every
        frame: the volume's extent along the plane is kept while the plane stays."""
        assert self.volume is not None
        axis = self.index_axis()
        memo = getattr(self, "_numbers_memo", None)
        if memo is None or memo[0] is not self.volume or memo[1] != axis.tobytes():
            lo, hi = _centre_extent(self.volume, axis)
            memo = (self.volume, axis.tobytes(), lo, hi, self.slice_step())
            self._numbers_memo = memo
        _, _, lo, hi, step = memo
        return (round((float(self.point @ axis) - lo) / step), round((hi - lo) / step) + 1,
                step)

    def position_text(self) -> str:
        """Slice position along a standard axis (e.g. ``H 12.5 mm``), else along the normal."""
        n = self.plane().normal
        axis = int(np.argmax(np.abs(n)))
        if abs(n[axis]) > 0.9999:
            x = float(self.point[axis])
            return f"{'LPH'[axis] if x >= 0 else 'RAF'[axis]} {abs(x):.1f} mm"
        return f"{float(self.point @ n):+.1f} mm"

    def edge_labels(self) -> dict[str, str]:
        """Orientation letters at each edge (PS3.3 C.7.6.1.1.1): left, right, top, bottom."""
        p = self.plane()
        return {"left": orientation_label(-p.right), "right": orientation_label(p.right),
                "top": orientation_label(p.up), "bottom": orientation_label(-p.up)}


# ------------------------------------------------------ linked viewports
def plane_intersection(a: Plane, b: Plane) -> tuple[np.ndarray, np.ndarray] | None:
    """(point, unit direction) of the line where two planes meet; None when parallel.

    This is the cross-reference (localizer) line of plane ``b`` drawn in a view of ``a``.
    """
    d = np.cross(a.normal, b.normal)
    norm = float(np.linalg.norm(d))
    if norm < 1e-6:
        return None
    d /= norm
    # the point on both planes nearest a.point: n_a.x = n_a.p_a, n_b.x = n_b.p_b, d.x = d.p_a
    m = np.array([a.normal, b.normal, d])
    rhs = np.array([a.normal @ a.point, b.normal @ b.point, d @ a.point])
    return np.linalg.solve(m, rhs), d


class ScrollSync:
    """Synchronised scrolling of viewports (same frame of reference, or a prior).

    When switched on, each viewport's position along its normal is recorded
    relative to the leader's; afterwards a move of the leader by ``d`` mm along
    its normal moves every linked viewport whose normal is parallel by the
    same ``d`` (so a prior keeps the offset the reader chose when linking).
    Viewports of the leader's own frame of reference (PS3.3 C.7.4.1.1.1) share
    its patient coordinates: they go to the slice nearest the leader's patient
    position (:mod:`viewer.sync`), at linking and after each move.
    """

    def __init__(self) -> None:
        self.offsets: dict[int, float] = {}
        self.same_frame: set[int] = set()
        self._busy = False

    def link(self, models: list[ViewportModel], leader: ViewportModel) -> None:
        n = leader.plane().normal
        base = float(leader.point @ n)
        self.offsets = {id(m): float(m.point @ n) - base for m in models
                        if m.volume is not None and abs(float(m.plane().normal @ n)) > 0.999}
        uid = leader.frame_of_reference()
        self.same_frame = {id(m) for m in models if uid and m is not leader
                           and id(m) in self.offsets and m.frame_of_reference() == uid}
        for key in self.same_frame:
            self.offsets[key] = 0.0
        self.follow(leader, models)  # same frame: to the leader's position now

    def unlink(self) -> None:
        self.offsets = {}

    def follow(self, leader: ViewportModel, models: list[ViewportModel]) -> None:
        """Move the linked ``models`` after ``leader`` moved."""
        if self._busy or id(leader) not in self.offsets:
            return
        self._busy = True
        try:
            n = leader.plane().normal
            base = float(leader.point @ n) - self.offsets[id(leader)]
            for m in models:
                if m is leader or id(m) not in self.offsets:
                    continue
                target = base + self.offsets[id(m)]
                if id(m) in self.same_frame and m.volume is not None:
                    from viewer.sync import Stack

                    stack = Stack.from_volume(m.volume)
                    k, _, inside = stack.nearest(target, n)
                    if inside:  # the acquired slice nearest the leader's position
                        target = float(stack.positions[k] @ n)
                m.set_point(m.point + (target - float(m.point @ n)) * n)
        finally:
            self._busy = False


# ----------------------------------------------------------------------- MPR
@dataclass
class MPRModel:
    """Three orthogonal (or rotated) planes through one crosshair point, kept in sync.

    Setting the point moves every plane to pass through it (a click in the
    axial view moves the coronal and sagittal slices); :meth:`rotate` tilts
    the other two planes around the normal of one (oblique MPR).
    """

    volume: Volume
    views: dict[str, ViewportModel] = field(default_factory=dict)
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    events: Events = field(default_factory=Events)

    def __post_init__(self) -> None:
        if not self.views:
            self.views = {name: ViewportModel(self.volume, name) for name in MPR_PLANES}
        self.point = middle_voxel(self.volume)

    def set_point(self, lps: np.ndarray | tuple[float, float, float]) -> None:
        p = np.asarray(lps, dtype=float).reshape(3)
        g = self.volume.geometry
        ijk = np.clip(g.lps_to_index(p), 0, np.asarray(g.dims, float) - 1)
        self.point = g.index_to_lps(ijk)
        for view in self.views.values():
            view.set_point(self.point)
        self.events.emit("crosshair")

    def rotate(self, about: str, degrees: float) -> None:
        """Rotate the MPR frame around the normal of the ``about`` plane (oblique MPR)."""
        axis = self.views[about].plane().normal
        a = math.radians(degrees)
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        r = np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * (k @ k)
        self.rotation = r @ self.rotation
        for name, view in self.views.items():
            ref = make_plane(name, self.point).normal
            view.normal = self.rotation @ ref
            view.events.emit("plane")
        self.events.emit("crosshair")

    def crosshair_lines(self, name: str) -> list[Line]:
        """Lines to draw in view ``name``: the other planes' intersections with it (colours)."""
        own = self.views[name].plane().normal
        out = []
        for other, view in self.views.items():
            if other == name:
                continue
            direction = np.cross(own, view.plane().normal)
            if np.linalg.norm(direction) < 1e-6:
                continue
            unit = direction / np.linalg.norm(direction)
            out.append((self.point.copy(), unit, PLANE_COLORS[other]))
        return out
