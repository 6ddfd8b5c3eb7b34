"""Benchmark: reslice + render time per frame of Regard's SliceView vs a bare VTK pipeline.

Volume: 512x512x600 int16 (0.7 x 0.7 x 0.625 mm), built in numpy. Window:
1024x1024 offscreen. Each frame moves the slice by one step along its
normal, re-slices and renders, and waits for the GPU (llvmpipe) to finish.

Peer, in the same run on the same zero-copy vtkImageData: a bare VTK
pipeline, ``vtkImageReslice`` (same reslice axes, output grid and
interpolation) -> ``vtkImageActor`` -> ``vtkRenderer``. With overlays the
peer draws the same four text corners with ``vtkTextActor`` (the usual VTK
way, ~15 ms a frame on llvmpipe: PLATFORM.md); Regard uses cached textures.
Frames alternate between the two (ABBA order) so machine load hits both
alike; the median ms/frame of each is reported with the median of the
per-frame-pair ratios regard / bare.

    .venv/bin/python bench/render.py [--frames 40] [--rounds 3] [--size 1024] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

CASES = ("axial", "oblique", "slab-mip-10mm", "axial+overlay")


def make_volume(nx: int = 512, ny: int = 512, nz: int = 600) -> object:
    from viewer.dicom.geometry import Geometry
    from viewer.dicom.volume import Volume

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:ny, 0:nx]
    body = (((x - nx / 2) / (0.42 * nx)) ** 2 + ((y - ny / 2) / (0.35 * ny)) ** 2) <= 1
    base = np.where(body, 40, -1000).astype(np.int16)
    array = np.empty((nz, ny, nx), dtype=np.int16)
    for k in range(nz):
        array[k] = base + rng.integers(-20, 20, size=(ny, nx), dtype=np.int16)
        array[k, ny // 2 - 20: ny // 2 + 20, (k % nx): (k % nx) + 30] = 700
    geometry = Geometry((nx, ny, nz), (0.7, 0.7, 0.625), np.array([-179.0, -179.0, -200.0]),
                        np.eye(3))
    return Volume(array, geometry, modality="CT", window=(40.0, 400.0))


class BareVTK:
    """vtkImageReslice -> vtkImageActor, set up exactly as a SliceView's current state."""

    def __init__(self, view: object, size: int, text: bool) -> None:
        import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text rendering for vtkTextActor)
        from vtkmodules.vtkImagingCore import vtkImageReslice
        from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer, vtkTextActor

        from viewer.render.backend import new_render_window

        src = view.reslice  # type: ignore[attr-defined]
        self.view = view
        self.reslice = vtkImageReslice()
        self.reslice.SetInputData(view.data.image)  # type: ignore[attr-defined]
        self.reslice.SetOutputDimensionality(2)
        self.reslice.SetInterpolationModeToLinear()
        self.reslice.SetOutputExtent(src.GetOutputExtent())
        self.reslice.SetOutputSpacing(src.GetOutputSpacing())
        self.reslice.SetOutputOrigin(src.GetOutputOrigin())
        self.reslice.SetSlabNumberOfSlices(src.GetSlabNumberOfSlices())
        self.reslice.SetSlabMode(src.GetSlabMode())
        self.reslice.SetOptimization(src.GetOptimization())
        self.actor = vtkImageActor()
        self.actor.GetMapper().SetInputConnection(self.reslice.GetOutputPort())
        self.actor.GetProperty().SetColorWindow(400)
        self.actor.GetProperty().SetColorLevel(40)
        self.renderer = vtkRenderer()
        self.renderer.AddActor(self.actor)
        # same window class as SliceView's (the backend's, e.g. vtkEGLRenderWindow)
        self.window = new_render_window((size, size))
        self.window.AddRenderer(self.renderer)
        cam_src = view.renderer.GetActiveCamera()  # type: ignore[attr-defined]
        cam = self.renderer.GetActiveCamera()
        cam.ParallelProjectionOn()
        cam.SetFocalPoint(cam_src.GetFocalPoint())
        cam.SetPosition(cam_src.GetPosition())
        cam.SetViewUp(cam_src.GetViewUp())
        cam.SetParallelScale(cam_src.GetParallelScale())
        cam.SetClippingRange(cam_src.GetClippingRange())
        self.texts = []
        if text:
            for n, (x, y) in enumerate([(5, 5), (5, size - 40), (size - 200, 5),
                                        (size - 200, size - 40)]):
                t = vtkTextActor()
                t.SetInput(f"corner {n}")
                t.SetDisplayPosition(x, y)
                t.GetTextProperty().SetFontSize(14)
                self.renderer.AddActor(t)
                self.texts.append(t)


def time_interleaved(
    a: Callable[[int], None], b: Callable[[int], None], frames: int
) -> tuple[list[float], list[float]]:
    """Per-frame ms of ``a`` and ``b``, alternating frame by frame (load hits both alike)."""
    for n in range(3):
        a(n)
        b(n)
    ta, tb = [], []
    for n in range(frames):
        first, second = (a, b) if n % 2 == 0 else (b, a)
        t0 = time.perf_counter()
        first(n)
        t1 = time.perf_counter()
        second(n)
        t2 = time.perf_counter()
        da, db = (t1 - t0, t2 - t1) if n % 2 == 0 else (t2 - t1, t1 - t0)
        ta.append(da * 1000)
        tb.append(db * 1000)
    return ta, tb


def run_case(case: str, volume: object, data: object, size: int, frames: int,
             rounds: int) -> dict[str, float]:
    from viewer.render.slice_view import SliceView

    overlay = case.endswith("+overlay")
    view = SliceView(data, size=(size, size), overlay=overlay, plane="axial")  # type: ignore
    if case == "oblique":
        view.set_plane("axial", normal=(0.25, -0.35, 1.0))
    if case.startswith("slab"):
        view.set_slab(10.0, "mip")
    view.render()
    bare = BareVTK(view, size, text=overlay)
    step = view.slice_step()
    start = view.point.copy()

    def regard_frame(n: int) -> None:
        view.set_point(start + ((n % 200) - 100) * step * view.plane.normal)
        view.render()
        view.window.WaitForCompletion()

    def bare_frame(n: int) -> None:
        view.set_point(start + ((n % 200) - 100) * step * view.plane.normal)
        bare.reslice.SetResliceAxes(view.reslice.GetResliceAxes())
        bare.reslice.Modified()
        for t in bare.texts:
            t.SetInput(f"Z {n * 0.625:.1f} mm\nW 400 L 40")
        bare.window.Render()
        bare.window.WaitForCompletion()

    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        a, b = time_interleaved(regard_frame, bare_frame, frames)
        ours += a
        theirs += b
    view.close()
    r, b = statistics.median(ours), statistics.median(theirs)
    ratios = [x / y for x, y in zip(ours, theirs, strict=True)]
    return {"regard_ms": round(r, 2), "bare_vtk_ms": round(b, 2),
            "ratio": round(statistics.median(ratios), 3), "frames": len(ours)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024, help="window size (square)")
    parser.add_argument("--slices", type=int, default=600)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from viewer.render.backend import ensure_backend
    from viewer.render.image import VolumeImage

    backend = ensure_backend()
    t = time.perf_counter()
    volume = make_volume(nz=args.slices)
    built = time.perf_counter() - t
    t = time.perf_counter()
    data = VolumeImage(volume)  # type: ignore[arg-type]
    wrap_ms = (time.perf_counter() - t) * 1000
    results = {
        "backend": backend,
        "volume": f"512x512x{args.slices} int16",
        "window": f"{args.size}x{args.size}",
        "volume_image_ms": round(wrap_ms, 2),  # zero-copy wrap + one min/max scan
        "cases": {},
    }
    print(f"volume built in {built:.1f} s; VolumeImage (zero-copy + min/max) {wrap_ms:.1f} ms; "
          f"{backend}",
          file=sys.stderr)
    for case in args.cases.split(","):
        res = run_case(case, volume, data, args.size, args.frames, args.rounds)
        results["cases"][case] = res
        print(f"{case:16s} regard {res['regard_ms']:7.2f} ms/frame   bare VTK "
              f"{res['bare_vtk_ms']:7.2f} ms/frame   ratio {res['ratio']:.2f}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
