"""Benchmark: the reading station's interaction speed under Xvfb (software OpenGL, llvmpipe).

Measured in one run, on a 512x512x600 int16 volume built in numpy:

* ``scroll-1x1``: one 1024x1024 viewport (the real Qt widget, QVTKRenderWindowInteractor),
  one slice step per frame, with and without overlays (four corners, orientation
  letters, scale bar) -> frames/s and the overlays' share of a frame;
* ``crosshair-mpr``: MPR layout, three 1024x1024 plane viewports; each frame moves the
  crosshair (every plane re-sliced and re-rendered, crosshair lines redrawn);
* peer, same run, same X server, same zero-copy vtkImageData: a bare VTK pipeline
  (``vtkImageReslice`` -> ``vtkImageActor`` in a plain 1024x1024 ``vtkRenderWindow``),
  doing the same reslices (one window, or three), twice: multisampling off like ours
  (``bare_vtk_fps``, the ratios' reference) and with VTK's defaults (8x multisampling,
  ``bare_vtk_default_multisampling_fps``);
* ours is timed as the user sees it (``fps``): a stack scroll is drawn at full quality
  (linear resampling: scrolling is reading), a crosshair drag with the drag frames of
  the interactive level of detail (``SliceViewport.set_interacting``: nearest resampling,
  unfiltered magnification; full quality on release); both kinds of frame are reported
  (``fps_full_quality``, ``fps_drag_frames``). The MPR's three planes are drawn as the
  event loop draws them after a crosshair move (``vtk_host.render_together``: prepared
  on the UI thread, drawn on worker threads at once), the peer's one after the other;
* ``cold-start``: a fresh ``python`` process until the main window is exposed, and until
  the viewers (VTK) are ready and a first image is drawn (the first run is the coldest the
  OS file cache allows; we do not drop caches on a shared machine);
* ``open-to-first-image``: a study already listed by the browser (files on local disk,
  as they are in the cache after retrieval) from "open" to the first image shown;
* ``open-cached``: a study in the retrieval cache (files stored by the cache, listed by
  the browser as after a retrieval), from a real double-click on its row to the first
  image drawn (the volume's middle image, :mod:`viewer.ui.streaming`, while the volume is
  assembled) and to the volume drawn; with the access interface (screen check, VIEW
  record) as the reading station runs;
* ``volume-rendering``: the MPR layout's 3-D cell (CPU ray casting of the volume's
  overview, 1024x1024), its 3-D MIP and the shaded ct-bone preset: reduced frames as while
  the user turns the volume, full-quality frames as after the release (wall and CPU ms).

Each frame waits for llvmpipe to finish (``WaitForCompletion``). Rounds alternate ours
and the peer's; medians are reported.

    .venv/bin/python bench/interaction.py [--frames 60] [--rounds 3] [--slices 600] [--json]

Without DISPLAY it starts its own Xvfb (stopped by PID at the end).
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = 1024


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def start_xvfb(width: int, height: int) -> subprocess.Popen[bytes]:
    for n in range(150, 250):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            break
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-nolisten", "tcp", "-noreset", "-screen", "0", f"{width}x{height}x24"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{n}"
    return proc


def make_volume(nz: int) -> object:
    """A CT-like 512x512xnz int16 volume (body ellipse, noise, a moving dense block)."""
    from viewer.dicom.geometry import Geometry
    from viewer.dicom.volume import Volume

    nx = ny = 512
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:ny, 0:nx]
    body = (((x - nx / 2) / (0.42 * nx)) ** 2 + ((y - ny / 2) / (0.35 * ny)) ** 2) <= 1
    base = np.where(body, 40, -1000).astype(np.int16)
    noise = rng.integers(-20, 20, size=(8, ny, nx), dtype=np.int16)
    array = np.empty((nz, ny, nx), dtype=np.int16)
    for k in range(nz):
        array[k] = base + noise[k % 8]
        array[k, ny // 2 - 20 : ny // 2 + 20, (k % 400) + 50 : (k % 400) + 80] = 700
    geometry = Geometry(
        (nx, ny, nz), (0.7, 0.7, 0.625), np.array([-179.0, -179.0, -200.0]), np.eye(3)
    )
    meta = {
        "patient_name": "BENCH^VOLUME",
        "patient_id": "B1",
        "study_description": "Bench",
        "series_description": "Axial 0.625",
        "study_date": "20260101",
    }
    return Volume(array, geometry, modality="CT", window=(40.0, 400.0), meta=meta)


class BarePeer:
    """Bare VTK: vtkImageReslice -> vtkImageActor in a plain render window, as a SliceView."""

    def __init__(self, view: object, multisample_off: bool = True) -> None:
        from vtkmodules.vtkImagingCore import vtkImageReslice
        from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer, vtkRenderWindow

        src = view.reslice  # type: ignore[attr-defined]
        self.view = view
        self.reslice = vtkImageReslice()
        self.reslice.SetInputData(view.data.image)  # type: ignore[attr-defined]
        self.reslice.SetOutputDimensionality(2)
        self.reslice.SetInterpolationModeToLinear()
        self.reslice.SetOutputExtent(src.GetOutputExtent())
        self.reslice.SetOutputSpacing(src.GetOutputSpacing())
        self.reslice.SetOutputOrigin(src.GetOutputOrigin())
        self.actor = vtkImageActor()
        self.actor.GetMapper().SetInputConnection(self.reslice.GetOutputPort())
        self.actor.GetProperty().SetColorWindow(400)
        self.actor.GetProperty().SetColorLevel(40)
        self.renderer = vtkRenderer()
        self.renderer.AddActor(self.actor)
        self.window = vtkRenderWindow()
        if multisample_off:  # else VTK's default (8x multisampling where the visual allows)
            self.window.SetMultiSamples(0)
        self.window.SetSize(SIZE, SIZE)
        self.window.AddRenderer(self.renderer)
        cam_src = view.renderer.GetActiveCamera()  # type: ignore[attr-defined]
        cam = self.renderer.GetActiveCamera()
        cam.ParallelProjectionOn()
        for attr in ("FocalPoint", "Position", "ViewUp", "ParallelScale", "ClippingRange"):
            getattr(cam, "Set" + attr)(getattr(cam_src, "Get" + attr)())

    def frame(self) -> None:
        self.reslice.SetResliceAxes(self.view.reslice.GetResliceAxes())  # type: ignore
        self.reslice.Modified()
        self.window.Render()
        self.window.WaitForCompletion()


def time_frames(frame: Callable[[int], None], frames: int) -> float:
    """Seconds a frame (wall clock). The process's CPU time a frame (all threads: ours,
    llvmpipe's) is kept too: on a loaded machine it varies much less than the wall clock."""
    for n in range(3):
        frame(n)
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(frames):
        frame(n)
    time_frames.cpu_ms = (time.process_time() - cpu) / frames * 1000  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / frames


def _timed(times: dict[str, list[float]], cpu: dict[str, list[float]], key: str,
           frame: Callable[[int], None], frames: int) -> None:
    times[key].append(time_frames(frame, frames))
    cpu.setdefault(key, []).append(time_frames.cpu_ms)  # type: ignore[attr-defined]


def fps(seconds: float) -> float:
    return round(1.0 / seconds, 1) if seconds > 0 else 0.0


def bench_scroll(app: object, volume: object, frames: int, rounds: int) -> dict[str, float]:
    from viewer.ui.grid import ViewportGrid

    grid = ViewportGrid()
    grid.resize(SIZE + 4, SIZE + 4)  # 2 px frame around the viewport
    grid.show()
    for _ in range(10):
        app.processEvents()  # type: ignore[attr-defined]
    vp = grid.viewports[0]
    vp.set_volume(volume)
    vp.render_now()
    assert vp.device_size() == (SIZE, SIZE), vp.device_size()
    peer = BarePeer(vp.view)
    peer_default = BarePeer(vp.view, multisample_off=False)
    count = vp.model.slice_count()
    # every frame of the run shows a slice not shown just before by the same contender:
    # the overlay's text lines are not all in its cache yet, as on a first read of a stack
    steps = itertools.count()

    def ours(n: int) -> None:
        vp.model.set_slice(100 + next(steps) % (count - 200))
        vp.render_now()
        vp.render_window.WaitForCompletion()

    def bare(n: int) -> None:
        vp.model.set_slice(100 + next(steps) % (count - 200))
        peer.frame()

    def bare_default(n: int) -> None:
        vp.model.set_slice(100 + next(steps) % (count - 200))
        peer_default.frame()

    # ours as the user scrolls: full quality (stack scrolling is reading, the viewport never
    # lowers it), with and without overlays; and the frames of a drag for reference
    times: dict[str, list[float]] = {k: [] for k in ("full", "drag", "no_ov", "bare",
                                                     "bare_def")}
    cpu: dict[str, list[float]] = {}
    for _ in range(rounds):
        vp.view.set_overlay_visible(True)
        vp.set_interacting(True)
        _timed(times, cpu, "drag", ours, frames)
        vp.set_interacting(False)
        _timed(times, cpu, "full", ours, frames)
        vp.view.set_overlay_visible(False)
        _timed(times, cpu, "no_ov", ours, frames)
        _timed(times, cpu, "bare", bare, frames)
        _timed(times, cpu, "bare_def", bare_default, frames)
    m = {k: statistics.median(v) for k, v in times.items()}
    for host in grid.hosts():
        host.close_vtk()
    grid.close()
    return _figures(m, cpu, shown="full")


def _figures(m: dict[str, float], cpu: dict[str, list[float]],
             shown: str) -> dict[str, object]:
    """``shown``: the frames the user sees during the gesture (a stack scroll is drawn at
    full quality, a crosshair drag with the drag frames of the interactive level of
    detail)."""
    w = m[shown]
    return {
        "fps": fps(w),
        "fps_full_quality": fps(m["full"]),
        "fps_drag_frames": fps(m["drag"]),
        "fps_full_quality_no_overlay": fps(m["no_ov"]),
        "bare_vtk_fps": fps(m["bare"]),
        "bare_vtk_default_multisampling_fps": fps(m["bare_def"]),
        "ratio_to_bare": round(m["bare"] / w, 3),
        "ratio_full_quality_to_bare": round(m["bare"] / m["full"], 3),
        "ratio_to_bare_default_multisampling": round(m["bare_def"] / w, 3),
        "overlay_share_of_frame": round(max(m["full"] - m["no_ov"], 0.0) / m["full"], 3),
        # process CPU time a frame (ours + llvmpipe threads), medians: steadier than fps
        # when other work shares the machine
        "cpu_ms_per_frame": {k: round(statistics.median(v), 1) for k, v in cpu.items()},
    }


def bench_mpr(app: object, volume: object, frames: int, rounds: int) -> dict[str, float]:
    from viewer.ui.grid import ViewportGrid
    from viewer.ui.vtk_host import render_together

    grid = ViewportGrid()
    grid.resize(2 * (SIZE + 4), 2 * (SIZE + 4))
    grid.show()
    grid.set_layout("mpr")
    for _ in range(10):
        app.processEvents()  # type: ignore[attr-defined]
    grid.show_volume(volume)
    grid.render_all()
    planes = grid.viewports
    assert all(vp.device_size() == (SIZE, SIZE) for vp in planes), [
        vp.device_size() for vp in planes
    ]
    peers = [BarePeer(vp.view) for vp in planes]
    peers_default = [BarePeer(vp.view, multisample_off=False) for vp in planes]
    centre = volume.geometry.center  # type: ignore[attr-defined]

    steps = itertools.count()

    def point(n: int) -> np.ndarray:
        """A crosshair path that does not come back to the same positions during a run
        (a circle drifting along z): as in a drag, each frame's position texts are new."""
        k = next(steps)
        t = (k % 100) / 100.0 * 2 * np.pi
        drift = (k * 0.37) % 40.0 - 20.0
        return centre + np.array([60 * np.cos(t), 40 * np.sin(t), 50 * np.sin(t) + drift])

    def ours(n: int) -> None:
        grid.set_crosshair(point(n))
        render_together(planes)  # what the frame queue does with the three planes' frames
        for vp in planes:
            vp.render_window.WaitForCompletion()

    def bare_of(group: list[BarePeer]) -> Callable[[int], None]:
        def bare(n: int) -> None:
            grid.set_crosshair(point(n))
            for peer in group:
                peer.frame()
        return bare

    def overlays(on: bool) -> None:
        for vp in planes:
            vp.view.set_overlay_visible(on)

    times: dict[str, list[float]] = {k: [] for k in ("drag", "full", "no_ov", "bare",
                                                     "bare_def")}
    cpu: dict[str, list[float]] = {}
    for _ in range(rounds):
        overlays(True)
        planes[0].set_interacting(True)  # as a crosshair drag does (all three planes)
        _timed(times, cpu, "drag", ours, frames)
        planes[0].set_interacting(False)
        _timed(times, cpu, "full", ours, frames)
        overlays(False)
        _timed(times, cpu, "no_ov", ours, frames)
        _timed(times, cpu, "bare", bare_of(peers), frames)
        _timed(times, cpu, "bare_def", bare_of(peers_default), frames)
    m = {k: statistics.median(v) for k, v in times.items()}
    for host in grid.hosts():
        host.close_vtk()
    grid.close()
    return _figures(m, cpu, shown="drag")


VR_PRESETS = ("mip", "ct-bone")  # the MPR cell's 3-D MIP (its default), a shaded preset


def _vr_frames(app: object, view: object, count: int) -> tuple[float, float]:
    """Median wall and CPU ms of ``count`` View3D frames, each turning the volume 5 deg."""
    wall, cpu = [], []
    for _ in range(count):
        view.scene.rotate(azimuth=5)  # type: ignore[attr-defined]
        t, c = time.perf_counter(), time.process_time()
        view.render_now()  # type: ignore[attr-defined]
        view.render_window.WaitForCompletion()  # type: ignore[attr-defined]
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return (round(statistics.median(wall) * 1000, 1), round(statistics.median(cpu) * 1000, 1))


def bench_volume_rendering(app: object, volume: object) -> dict[str, object]:
    """The MPR layout's 3-D cell (View3D, 1024x1024) as the user sees it: reduced frames as
    while dragging (``set_interacting(True)``) and full-quality ones as after the release,
    each turning the volume 5 degrees (no frame re-uses the last one). The cell's default
    3-D MIP gives the top-level figures; the shaded ct-bone preset its own, with its first
    full frame (the gradient pass). CPU ms (all threads) beside the wall clock: the wall
    clock of a shared 2-core machine varies with the load, the work does not."""
    from viewer.render.image import VolumeImage
    from viewer.ui.grid import View3D

    view = View3D()
    view.resize(SIZE, SIZE)
    view.show()
    for _ in range(10):
        app.processEvents()  # type: ignore[attr-defined]
    view.set_data(VolumeImage(volume))  # type: ignore[arg-type]
    scene = view.scene
    dims = scene.data.image.GetDimensions()  # type: ignore[union-attr]
    out: dict[str, object] = {"rendered_voxels": "x".join(map(str, dims))}
    for preset in VR_PRESETS:
        res: dict[str, object] = {}
        view.set_preset(preset)
        scene.set_interacting(False)  # type: ignore[union-attr]
        res["first_full_ms"] = _vr_frames(app, view, 1)[0]  # tables (and gradients)
        scene.set_interacting(True)  # type: ignore[union-attr]
        _vr_frames(app, view, 2)
        res["interactive_ms"], res["interactive_cpu_ms"] = _vr_frames(app, view, 15)
        res["interactive_fps"] = fps(res["interactive_ms"] / 1000)  # type: ignore[operator]
        res["interactive_ray_spacing_px"] = round(scene.mapper.GetImageSampleDistance(), 2)  # type: ignore
        scene.set_interacting(False)  # type: ignore[union-attr]
        res["full_ms"], res["full_cpu_ms"] = _vr_frames(app, view, 3)
        if preset == VR_PRESETS[0]:
            out.update(res)
        else:
            out[preset.replace("-", "_")] = res
    view.close_vtk()
    view.close()
    return out


CHILD = r"""
import sys, time
t_spawn = float(sys.argv[1])
from PySide6.QtWidgets import QApplication
from viewer.ui.main_window import MainWindow
app = QApplication([])
win = MainWindow(authorizer=lambda row, series: None)
win.quiet = True
win.show()
while not (win.windowHandle() and win.windowHandle().isExposed()):
    app.processEvents()
t_visible = time.time()
win.load_viewers()
import numpy as np
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
g = Geometry((64, 64, 4), (1, 1, 1), np.zeros(3), np.eye(3))
vol = Volume(np.zeros((4, 64, 64), np.int16), g)
win.grid.show_volume(vol)
win.grid.render_all()
t_frame = time.time()
print(f"{t_visible - t_spawn:.3f} {t_frame - t_spawn:.3f}")
"""


def bench_cold_start(runs: int) -> dict[str, object]:
    visible, frame = [], []
    for _ in range(runs):
        t = time.time()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, repr(t)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        v, f = (float(x) for x in out.stdout.split()[-2:])
        visible.append(v)
        frame.append(f)
    return {
        "window_visible_s": [round(v, 2) for v in visible],
        "first_frame_s": [round(f, 2) for f in frame],
    }


def bench_open(app: object, slices: int) -> dict[str, float]:
    from viewer.dicom.index import scan
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.browser import rows_from_index
    from viewer.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="regard-bench-") as tmp:
        write_phantom_series(tmp, columns=512, rows=512, slices=slices, slice_mm=1.0)
        row = rows_from_index(scan(tmp), "cache")[0]
        win = MainWindow(authorizer=lambda r, s: None)
        win.quiet = True
        win.show()
        win.load_viewers()
        for _ in range(10):
            app.processEvents()  # type: ignore[attr-defined]
        done: list[float] = []
        win.images_shown.connect(lambda: done.append(time.perf_counter()))
        t = time.perf_counter()
        win.open_study(row, row.series[:1])
        while not done and time.perf_counter() - t < 120:
            app.processEvents()  # type: ignore[attr-defined]
            time.sleep(0.001)
        win.grid.render_all()
        first = time.perf_counter() - t
        win.close()
    return {"series": f"512x512x{slices} CT, local files", "open_to_first_image_s": round(first, 2)}


def _fill_cache(tmp: str, slices: int) -> tuple[str, str]:
    """Phantom CT files stored into the cache (REGARD_HOME) as a retrieval stores them."""
    from pydicom import dcmread

    from viewer.archive.cache import Cache
    from viewer.dicom.phantom import write_phantom_series

    files = write_phantom_series(Path(tmp) / "src", columns=512, rows=512, slices=slices,
                                 slice_mm=1.0)
    cache = Cache()
    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        cache.store([Path(f).read_bytes()], study_uid=str(ds.StudyInstanceUID),
                    series_uid=str(ds.SeriesInstanceUID), sop_uid=str(ds.SOPInstanceUID),
                    sop_class_uid=str(ds.SOPClassUID),
                    transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
                    instance_number=int(ds.InstanceNumber), deferred=True)
    cache.flush()
    study = str(ds.StudyInstanceUID)
    return study, str(cache.series_dir(study, str(ds.SeriesInstanceUID)).parent)


def bench_open_cached(app: object, slices: int) -> dict[str, object]:
    """Double-click on a cached study's row -> first image drawn, and -> volume drawn."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from viewer.dicom.index import scan
    from viewer.ui.browser import rows_from_index
    from viewer.ui.main_window import MainWindow

    old_home = os.environ.get("REGARD_HOME")
    with tempfile.TemporaryDirectory(prefix="regard-bench-") as tmp:
        os.environ["REGARD_HOME"] = str(Path(tmp) / "home")  # never the user's cache/journal
        try:
            study, folder = _fill_cache(tmp, slices)
            win = MainWindow()
            win.quiet = True  # no dialog: the screen check records a consultation
            win.resize(1600, 1000)
            win.show()
            win.load_viewers()
            win.browser.add_rows(rows_from_index(scan(folder), "cache"))
            for _ in range(20):
                app.processEvents()  # type: ignore[attr-defined]
            marks: dict[str, float] = {}

            def drawn(key: str) -> None:
                if key not in marks:
                    win.grid.active.render_now()  # what the next event-loop turn draws
                    marks[key] = time.perf_counter()

            win.streaming.shown.connect(lambda *_a: drawn("first"))
            win.images_shown.connect(lambda: drawn("volume"))
            table = win.browser.table
            rect = table.visualRect(win.browser.proxy.index(0, 0))
            t = time.perf_counter()
            for click in (QTest.mousePress, QTest.mouseRelease, QTest.mouseDClick):
                click(table.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, rect.center())
            while "volume" not in marks and time.perf_counter() - t < 120:
                app.processEvents()  # type: ignore[attr-defined]
                time.sleep(0.001)
            win.close()
        finally:
            if old_home is None:
                os.environ.pop("REGARD_HOME", None)
            else:
                os.environ["REGARD_HOME"] = old_home
    volume = marks.get("volume", float("nan")) - t
    first = min(marks.get("first", volume + t) - t, volume)
    return {"series": f"512x512x{slices} CT in the cache, study {study[-12:]}",
            "double_click_to_first_image_s": round(first, 2),
            "double_click_to_volume_s": round(volume, 2),
            "first_image_is_preview": "first" in marks and marks["first"] <= marks["volume"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slices", type=int, default=600)
    parser.add_argument("--open-slices", type=int, default=300)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated subset of: "
                        "cold,scroll,mpr,volume,open,open_cached (default: all)")
    args = parser.parse_args(argv)

    xvfb = None
    if not os.environ.get("DISPLAY"):
        xvfb = start_xvfb(2 * SIZE + 200, 2 * SIZE + 200)
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    results: dict[str, object] = {
        "display": os.environ["DISPLAY"],
        "volume": f"512x512x{args.slices} int16",
    }
    parts = set(args.only.split(",")) if args.only else {"cold", "scroll", "mpr", "volume",
                                                          "open", "open_cached"}
    try:
        if "cold" in parts:
            results["cold_start"] = bench_cold_start(args.starts)
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        volume = make_volume(args.slices)
        if "scroll" in parts:
            results["scroll_1x1"] = bench_scroll(app, volume, args.frames, args.rounds)
        if "mpr" in parts:
            results["crosshair_mpr"] = bench_mpr(app, volume, max(args.frames // 2, 10),
                                                 args.rounds)
        if "volume" in parts:
            results["volume_rendering"] = bench_volume_rendering(app, volume)
        if "open" in parts:
            results["open"] = bench_open(app, args.open_slices)
        if "open_cached" in parts:
            results["open_cached"] = bench_open_cached(app, args.open_slices)
    finally:
        # our Xvfb (if any) gets SIGTERM when this process ends (PR_SET_PDEATHSIG): stopping
        # it while Qt still holds its connection would make Qt exit with status 1
        del xvfb
    for key, value in results.items():
        print(f"{key:18s} {value}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
