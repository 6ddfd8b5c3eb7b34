"""Benchmark: showing a radiograph (open, decode, window, render) vs DCMTK's dcmj2pnm.

Image: WG04 RG3, a 1760 x 1760 10-bit MONOCHROME1 CR, in a lossless transfer
syntax (JPEG lossless by default), from the shared corpus.

* regard: ``ImageSeries.from_paths`` + ``ImageView`` (offscreen 1536 x 2048, a
  3 MP portrait screen) + one render read back to memory (``to_array``): the
  time to the first diagnostic frame. Then W/L changes re-rendered (the drag).
* peer, in the same run: ``dcmj2pnm +Wi 1`` of the same file to a PNG (DCMTK
  3.6.7: decode, VOI, MONOCHROME1, write), the standard's reference renderer.

Runs alternate (ABBA) so machine load hits both alike; medians of seconds per
first frame and the median of per-pair ratios regard / dcmj2pnm are reported.

    .venv/bin/python bench/image_view.py [--runs 6] [--syntax JPLL|UNC|J2KR|RLE] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def regard_first_frame(path: Path) -> float:
    from viewer.dicom.image2d import ImageSeries
    from viewer.render.image_view import ImageView

    start = time.perf_counter()
    series = ImageSeries.from_paths([path])
    view = ImageView(series, size=(1536, 2048), overlay=True)
    view.to_array()
    elapsed = time.perf_counter() - start
    view.close()
    return elapsed


def regard_window_drag(path: Path, frames: int = 20) -> float:
    from viewer.dicom.image2d import ImageSeries
    from viewer.render.image_view import ImageView

    view = ImageView(ImageSeries.from_paths([path]), size=(1536, 2048), overlay=True)
    view.render()
    start = time.perf_counter()
    for n in range(frames):
        view.set_window(800 + 10 * n, 500 + 5 * n)
        view.render()
    return (time.perf_counter() - start) / frames


def dcmtk_first_frame(path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["dcmj2pnm", "+Wi", "1", "+on", str(path), str(out)], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--syntax", default="JPLL", choices=("JPLL", "UNC", "J2KR", "RLE"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.shared_data import shared
    from viewer.render.backend import ensure_backend

    ensure_backend()
    if shutil.which("dcmj2pnm") is None:
        print("dcmj2pnm (DCMTK) not found", file=sys.stderr)
        return 2
    path = shared(f"transfer_syntaxes/wg04/RG3/RG3_{args.syntax}.dcm")
    regard_first_frame(path)  # warm-up: imports, OpenGL context, codecs
    ours, peer, ratios = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rg3.png"
        for n in range(args.runs):
            pair = ((regard_first_frame, path), (dcmtk_first_frame, path, out))
            order = pair if n % 2 == 0 else pair[::-1]
            got = {}
            for fn, *fn_args in order:
                got[fn.__name__] = fn(*fn_args)
            ours.append(got["regard_first_frame"])
            peer.append(got["dcmtk_first_frame"])
            ratios.append(ours[-1] / peer[-1])
    drag = regard_window_drag(path)
    doc = {
        "image": f"RG3_{args.syntax} 1760x1760 CR MONOCHROME1",
        "screen": "1536x2048 offscreen (llvmpipe)",
        "regard_first_frame_s": statistics.median(ours),
        "dcmj2pnm_png_s": statistics.median(peer),
        "ratio_regard_over_dcmj2pnm": statistics.median(ratios),
        "regard_window_drag_ms_per_frame": drag * 1000,
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for k, v in doc.items():
            print(f"{k:34} {v:.3f}" if isinstance(v, float) else f"{k:34} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
