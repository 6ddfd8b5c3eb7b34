"""Benchmark: a straightened CPR (curve fit + numpy trilinear sampling) vs VTK's probe filter.

Volume: 384x384x300 int16 (0.7 x 0.7 x 1.0 mm), built in numpy. Curve: 12
clicks along a helix-like vessel (~590 mm); CPR 60 mm wide at 0.7 mm, so
about 846 x 85 samples; each frame spins it by 10 degrees (the "rotate the
CPR" interaction), which recomputes everything.

Peer, in the same run: ``vtkProbeFilter`` (VTK's trilinear probe) on the
same sample points already mapped to voxel index space, on the same
zero-copy vtkImageData -- only the sampling, none of the curve work. Runs
alternate (ABBA) so machine load hits both alike; medians of ms per CPR and
of the per-pair ratios regard / vtk are reported.

    .venv/bin/python bench/curved.py [--frames 20] [--slab 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np


def make_volume() -> object:
    from viewer.dicom.geometry import Geometry
    from viewer.dicom.volume import Volume

    nx, ny, nz = 384, 384, 300
    rng = np.random.default_rng(0)
    array = rng.integers(-50, 50, size=(nz, ny, nx), dtype=np.int16)
    geometry = Geometry((nx, ny, nz), (0.7, 0.7, 1.0), np.array([-134.0, -134.0, -150.0]),
                        np.eye(3))
    return Volume(array, geometry, modality="CT", window=(40.0, 400.0))


def clicks() -> np.ndarray:
    t = np.linspace(0, 3 * np.pi, 12)
    return np.column_stack([60 * np.cos(t), 60 * np.sin(t), -100 + 20 * t])


class Probe:
    """VTK peer: vtkProbeFilter on the volume's zero-copy image (index space)."""

    def __init__(self, volume: object) -> None:
        from vtkmodules.vtkFiltersCore import vtkProbeFilter

        from viewer.render.image import VolumeImage

        self.volume = volume
        self.data = VolumeImage(volume)  # type: ignore[arg-type]
        self.probe = vtkProbeFilter()
        self.probe.SetSourceData(self.data.image)

    def run(self, lps: np.ndarray) -> np.ndarray:
        from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkPolyData

        idx = self.volume.geometry.lps_to_index(lps.reshape(-1, 3))  # type: ignore[attr-defined]
        pts = vtkPoints()
        pts.SetData(numpy_to_vtk(np.ascontiguousarray(idx), deep=True))
        poly = vtkPolyData()
        poly.SetPoints(pts)
        self.probe.SetInputData(poly)
        self.probe.Update()
        return vtk_to_numpy(self.probe.GetOutput().GetPointData().GetArray("voxels"))


def main(argv: list[str] | None = None) -> int:
    from viewer.render.curved import straightened_cpr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--slab", type=float, default=0.0, help="slab thickness in mm")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    volume = make_volume()
    pts = clicks()
    peer = Probe(volume)
    first = straightened_cpr(volume, pts, width_mm=60.0, spacing=0.7, thickness_mm=args.slab)
    slabs = max(1, round(args.slab / 0.7) + 1) if args.slab >= 1.4 else 1
    ours, theirs, ratios = [], [], []
    for n in range(args.frames):
        angle = 10.0 * n
        order = ("ours", "vtk") if n % 2 == 0 else ("vtk", "ours")
        times = {}
        for who in order:
            t0 = time.perf_counter()
            if who == "ours":
                image = straightened_cpr(volume, pts, width_mm=60.0, angle_deg=angle, spacing=0.7,
                                         thickness_mm=args.slab)
            else:
                for _ in range(slabs):
                    peer.run(image.points if n else first.points)
            times[who] = (time.perf_counter() - t0) * 1000
        ours.append(times["ours"])
        theirs.append(times["vtk"])
        ratios.append(times["ours"] / times["vtk"])
    result = {
        "samples": int(first.values.size) * slabs,
        "shape": list(first.shape),
        "regard_ms": round(statistics.median(ours), 2),
        "vtk_probe_ms": round(statistics.median(theirs), 2),
        "ratio_regard_over_vtk": round(statistics.median(ratios), 2),
        "frames": args.frames,
        "slab_mm": args.slab,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
