"""Benchmark: decoding time per 512x512 frame for every plugin of each syntax, and
process-parallel vs serial decoding of many files.

Data: the NEMA WG04 CT1 image (512x512, signed 16-bit) in each lossless
syntax from the shared corpus (``REGARD_TEST_DATA`` or ../shared/data). Peers in
the same run: every other decoding plugin pydicom has for that syntax (our
chain must pick the fastest; gdcm is the fallback), and serial in-process
decoding for :func:`viewer.dicom.parallel.decode_files`.

    .venv/bin/python bench/decode_plugins.py [--repeat 20] [--files 40] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FILES = {
    "JPEG Lossless SV1": "transfer_syntaxes/wg04/CT1/CT1_JPLL.dcm",
    "JPEG-LS Lossless": "transfer_syntaxes/wg04/CT1/CT1_JLSL.dcm",
    "JPEG 2000 Lossless": "transfer_syntaxes/wg04/CT1/CT1_J2KR.dcm",
    "RLE Lossless": "transfer_syntaxes/wg04/CT1/CT1_RLE.dcm",
}


def _data_root() -> Path:
    env = os.environ.get("REGARD_TEST_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def time_plugins(repeat: int) -> list[dict[str, object]]:
    import pydicom
    from pydicom.pixels.decoders.base import get_decoder

    from viewer.dicom import codecs

    rows: list[dict[str, object]] = []
    for label, rel in FILES.items():
        path = _data_root() / rel
        ds = pydicom.dcmread(path)
        ts = str(ds.file_meta.TransferSyntaxUID)
        decoder = get_decoder(ts)
        chosen = codecs.available_plugins(ts)[0]
        for plugin in decoder.available_plugins:
            try:
                decoder.as_array(ds, decoding_plugin=plugin)
            except Exception as exc:
                rows.append({"syntax": label, "plugin": plugin, "error": str(exc)[:80]})
                continue
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                decoder.as_array(ds, decoding_plugin=plugin)
                times.append(time.perf_counter() - t0)
            rows.append({"syntax": label, "plugin": plugin, "ms": 1000 * statistics.median(times),
                         "chosen": plugin == chosen})
    return rows


def time_parallel(n_files: int, workers: int) -> dict[str, float]:
    from viewer.dicom.parallel import decode_files, shutdown
    from viewer.dicom.pixels import read_frames

    paths = [_data_root() / rel for rel in FILES.values()] * (n_files // len(FILES))
    decode_files(paths[:workers * 2], workers=workers)  # start the pool outside the timing
    t0 = time.perf_counter()
    for p in paths:
        read_frames(p)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    decode_files(paths, workers=workers)
    parallel = time.perf_counter() - t0
    shutdown()
    return {"files": len(paths), "workers": workers, "serial_s": serial,
            "parallel_s": parallel, "speedup": serial / parallel}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    plugins = time_plugins(args.repeat)
    parallel = time_parallel(args.files, args.workers)
    if args.json:
        print(json.dumps({"plugins": plugins, "parallel": parallel}, indent=2))
        return 0
    print(f"{'syntax':22} {'plugin':10} {'ms/frame':>9}  ratio to chosen")
    for label in FILES:
        rows = [r for r in plugins if r["syntax"] == label]
        chosen = next((r for r in rows if r.get("chosen")), None)
        for r in rows:
            if "error" in r:
                print(f"{label:22} {r['plugin']:10} {'fails':>9}  {r['error']}")
                continue
            ratio = r["ms"] / chosen["ms"] if chosen else float("nan")  # type: ignore[operator]
            mark = " <- chain's first choice" if r.get("chosen") else ""
            print(f"{label:22} {r['plugin']:10} {r['ms']:9.2f}  x{ratio:.2f}{mark}")
    print(f"decode_files: {parallel['files']} files, serial {parallel['serial_s']:.2f} s, "
          f"{parallel['workers']} processes {parallel['parallel_s']:.2f} s, "
          f"speed-up x{parallel['speedup']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
