"""``regard demo``: a local demo archive, queried and retrieved through Regard, then shown.

The demo builds its studies once under ``$REGARD_HOME/demo/studies`` (a synthetic
CT phantom with unmistakable left/anterior/head markers, plus the real sample
files pydicom ships), starts a private Orthanc on free loopback ports, stores the
studies into it, finds them with C-FIND, retrieves the phantom with C-GET into
the cache, and opens the reading station on it. Without a display it renders the
axial, coronal and sagittal planes to PNGs and prints the path of a 2x2 sheet.
Every query, retrieve and view is recorded in the audit trail like any other.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Real sample files shipped inside the pydicom wheel (MIT licence): a CT and an MR slice.
PYDICOM_SAMPLES = ("CT_small.dcm", "MR_small.dcm", "MR_small_jpeg_ls_lossless.dcm")
PHANTOM_DESCRIPTION = "Regard demo phantom"


def register(sub: Any) -> None:
    """Add ``demo`` to the `regard` parser."""
    p = sub.add_parser(
        "demo",
        help="start a demo archive, retrieve its studies and show them",
        description="Start a local demo archive (Orthanc) with demo studies, query and "
        "retrieve them through Regard's archive client and open the viewer on them; "
        "without a display (or with --headless) render the study to PNG and print its path.",
    )
    p.add_argument("--headless", action="store_true", help="render to PNG even with a display")
    p.add_argument("-o", "--out", type=Path, default=None, help="folder for the PNG renders")
    p.add_argument("--protocol", choices=("dimse", "dicomweb"), default="dimse",
                   help="how to talk to the demo archive (default: DIMSE C-FIND/C-GET)")
    p.set_defaults(func=demo)


def _say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_demo_studies(root: Path) -> Path:
    """Write the demo studies under ``root`` once; return the folder."""
    from viewer.dicom.phantom import write_phantom_series

    phantom = root / "ct_phantom"
    if not phantom.is_dir() or not any(phantom.iterdir()):
        _say("building the CT phantom study")
        tmp = root / "ct_phantom.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        write_phantom_series(tmp, study_description=PHANTOM_DESCRIPTION,
                             patient_name="DEMO^PHANTOM")
        shutil.rmtree(phantom, ignore_errors=True)
        tmp.rename(phantom)
    samples = root / "pydicom_samples"
    samples.mkdir(parents=True, exist_ok=True)
    import pydicom

    source = Path(pydicom.__file__).parent / "data" / "test_files"
    for name in PYDICOM_SAMPLES:
        if (source / name).is_file() and not (samples / name).is_file():
            shutil.copy2(source / name, samples / name)
    return root


def _progress_printer() -> Any:
    """Progress on stderr: a live line on a terminal, a line per 10% otherwise."""
    lock = threading.Lock()
    tty = sys.stderr.isatty()
    state = {"shown": -1.0, "decile": -1}

    def show(p: Any) -> None:
        done = p.instances_done + p.cached
        total = max(1, p.instances_total)
        now = time.monotonic()
        with lock:
            if tty:
                if now - state["shown"] < 0.1 and done < total:
                    return
                state["shown"] = now
                end = "\n" if done >= total else ""
                prefix = "\r"
            else:
                decile = done * 10 // total
                if decile == state["decile"]:
                    return
                state["decile"] = decile
                end, prefix = "\n", ""
            print(f"{prefix}[demo] retrieved {done}/{total} images, "
                  f"{p.bytes_done / 1e6:.1f} MB, {p.mb_per_s:.0f} MB/s",
                  end=end, file=sys.stderr, flush=True)

    return show


def _find_phantom(retriever: Any) -> dict[str, Any]:
    from viewer.cli import CommandError

    studies = retriever.query("study", {"StudyDescription": f"{PHANTOM_DESCRIPTION}*"})
    if not studies:
        studies = retriever.query("study", {"ModalitiesInStudy": "CT"})
    if not studies:
        raise CommandError("the demo archive holds no CT study (storing the demo studies failed)")
    return studies[0]


def _render_sheet(folder: Path, out_dir: Path, gate: Any, archive: str) -> Path:
    """Assemble the retrieved series, record the view, render three planes and a 2x2 sheet."""
    import pydicom
    from PIL import Image

    from viewer.access.gate import Action, PatientRef
    from viewer.dicom.assemble import assemble
    from viewer.dicom.index import scan
    from viewer.render.backend import ensure_backend
    from viewer.render.snapshot import SnapshotRequest, render_snapshot

    index = scan(folder)
    series = max(index.series.values(), key=lambda s: len(s.instances))
    volume = assemble(series)[0]
    first = pydicom.dcmread(series.instances[0].path, stop_before_pixels=True)
    gate.authorize_and_record(
        Action.VIEW, patient=PatientRef.from_dataset(first), study_uids=[series.study_uid],
        series_uids=[series.series_uid], archive=archive, screen_fitness="offscreen render",
    )
    ensure_backend()
    out_dir.mkdir(parents=True, exist_ok=True)
    tiles = []
    for plane in ("axial", "coronal", "sagittal"):
        path = out_dir / f"demo_{plane}.png"
        render_snapshot(volume, SnapshotRequest(plane=plane, size=(512, 512), overlay=True), path)
        tiles.append(Image.open(path).convert("RGB"))
    from viewer.render.volume_rendering import VolumeRenderView

    vr = VolumeRenderView(volume, size=(512, 512)).save_png(out_dir / "demo_3d.png")
    tiles.append(Image.open(vr).convert("RGB"))
    sheet = Image.new("RGB", (1024, 1024))
    for n, tile in enumerate(tiles):
        sheet.paste(tile.resize((512, 512)), ((n % 2) * 512, (n // 2) * 512))
    path = out_dir / "demo.png"
    sheet.save(path)
    return path


def demo(args: argparse.Namespace) -> int:
    from viewer.access.gate import AccessGate, Action
    from viewer.archive.nodes import parse_address
    from viewer.archive.orthanc import start_demo_archive
    from viewer.archive.retrieve import Retriever
    from viewer.config import regard_home

    home = regard_home() / "demo"
    studies = build_demo_studies(home / "studies")
    _say("starting the demo archive (Orthanc on 127.0.0.1)")
    server = start_demo_archive(studies)
    try:
        address = server.dimse_address if args.protocol == "dimse" else server.web_address
        node = parse_address(address, name="demo")
        _say(f"archive 'demo' at {address}")
        gate = AccessGate()
        retriever = Retriever(node)
        gate.authorize_and_record(Action.QUERY, archive=node.name,
                                  detail={"level": "study", "keys": {}})
        found = retriever.query("study", {})
        _say(f"C-FIND found {len(found)} studies" if args.protocol == "dimse"
             else f"QIDO-RS found {len(found)} studies")
        study = _find_phantom(retriever)
        uid = study["StudyInstanceUID"]
        gate.authorize_and_record(Action.RETRIEVE, study_uids=[uid], archive=node.name)
        result = retriever.retrieve(uid, progress=_progress_printer(), study_info=study)
        _say(f"retrieved {result.instances} images in {result.seconds:.2f} s "
             f"(first image after {result.first_image_seconds or 0:.3f} s) into {result.folder}")
        gate.record(Action.TRANSFERRED, study_uids=[uid], archive=node.name,
                    detail={"instances": result.instances})
        if _has_display() and not args.headless:
            from viewer.ui.app import run

            return run(str(result.folder), archives={"demo": node})
        out = args.out or (home / "out")
        sheet = _render_sheet(Path(result.folder), out, gate, node.name)
        print(sheet)
        return 0
    finally:
        server.stop()
