"""Benchmark: retrieve a 600-image 512x512 CT series from a local Orthanc, against DCMTK getscu.

Usage::

    .venv/bin/python bench/retrieve.py [--images 600] [--repeat 3] [--associations 4]
        [--warmup 1] [--delete-between] [--only getscu|dimse|web|stream ...] [--json]
        [--timeline] [--keep] [--orthanc JSON]

In one run: an Orthanc is started on loopback (``TCP_NODELAY=1``), the series is stored
into it, then retrieved by

* DCMTK ``getscu`` (C-GET, ``TCP_NODELAY=1``), the peer;
* Regard over DIMSE (C-GET: one SERIES-level C-GET per series with nothing cached,
  several associations for several series or a resume);
* Regard over DICOMweb (WADO-RS, ``transfer-syntax=*``).

For each: wall time, MB/s, CPU time (ours: this process, or getscu's; and Orthanc's,
from /proc: on a shared machine CPU time varies less than the wall time), and for
Regard the time to first image (study C-FIND or QIDO-RS -> first instance stored ->
its pixels decoded). Medians over ``--repeat`` runs,
ratios against getscu. The series is generated once (``--data``) and reused.

Measured 2026-11-23 ~19:50 UTC (load average 2.2-4.6 from other sessions), Orthanc's
storage cache off and folders spread (``ORTHANC_SETTINGS``, :func:`_spread`: the same for
every contender), ``--only getscu --only web --repeat 5 --timeline --keep``, three runs
alternating with runs of the code before this change (same bench): WADO-RS 0.68-0.92 s,
1.56x, 2.55x, 1.69x getscu (per repeat 0.90-2.93x; getscu 1.14-2.35 s); CPU of one
retrieve ours 0.41-0.48 s + Orthanc's 0.34-0.42 s, getscu 0.52-0.72 s + Orthanc's
0.59-1.19 s. The code before: 1.54x, 1.39x, 1.77x (ours 0.39-0.49 s + Orthanc's
0.34-0.43 s), the same within the noise: the changes (no sum over the whole cache
index after each retrieve, the closing thread helping the writers) matter in a large
cache and on a busy machine. Timeline (``--timeline``, medians of the 5 repeats of
each run, ms from the start): study query 14-17; series request sent 15-23; first
image stored 68-121; first part of the series 90-121; last part 666-912; last stored
666-912; writers done 674-919; end 676-921. Orthanc's first part comes ~50 ms after
the request when alone (its DICOMweb plugin lists the series' 600 instances with
their tags first), ~70 ms with our series and first-image queries in between; the
rest is the stream (Orthanc's one thread sending, 0.30 s of its CPU; the stream read
and spliced to /dev/null: 0.43 s wall, 0.10 s of our CPU) slowed by our storing (600
files written from pipes by one thread: 0.22-0.28 s of kernel CPU, ext4 page cache and
inodes, the same work as getscu's) on 2 shared cores. Before these runs (default
Orthanc settings, code before): end 641-783 ms, of which 8-38 ms after the last part.

Measured 2026-11-23 evening, same machine (load average 2.2-2.7 from other sessions),
after WADO-RS bodies went socket -> pipe -> file (splice), SO_RCVLOWAT per part and
the series asked for before the series query; three runs of ``--repeat 5``, back to
back: WADO-RS 2.29x, 2.22x, 2.40x getscu (per repeat 1.85-4.30x; WADO-RS 0.60-0.85 s,
getscu 1.37-2.05 s), DIMSE 1.23-2.02x. CPU of one retrieve (medians of the runs):
WADO-RS ours 0.42-1.09 s + Orthanc's 0.43-0.49 s; getscu 0.72-1.41 s + Orthanc's
0.84-0.92 s. Both grew run after run: each run deletes its ~11,000 files at the end,
and on this ext4 without a journal creating a file scans the inodes deleted in the
last 30 s (0.02-1 ms a file, in the kernel). Three runs an hour before, with the
splice and SO_RCVLOWAT only: 1.86x, 1.86x, 1.18x (per repeat 1.18-2.70x).
Alternating runs of the code before and after against one Orthanc (20 retrieves
each, load ~3.5): WADO-RS 0.664 -> 0.610 s, CPU of one retrieve ours 0.46 -> 0.43 s
and Orthanc's 0.375 -> 0.335 s. What is left of ours is mostly ext4's page-cache
writes and inode allocation, the same for getscu; with a core taken by another
process, Orthanc's one sending thread is the critical path (0.65 s a retrieve with a
busy loop running, storing inline in the reading thread then took 0.78 s).

Measured 2026-11-23 on the 2-core build machine while other sessions' tests and
benchmarks ran (load average 4-9), Orthanc 1.10.1, 600 x 512x512 CT uncompressed,
315 MB, ``--repeat 5``, four runs of the script (median of each run; per repeat in
brackets): getscu 1.8-3.4 s; Regard DIMSE (one SERIES-level C-GET) 0.83-1.12x
getscu's throughput, median of runs 1.07x [0.49-1.87x]; Regard WADO-RS 1.21-1.59x,
median 1.43x [0.67-2.08x]; time to first image 0.07-0.16 s. The WADO-RS series stream
read and thrown away (``--only stream``) was 3.3x in the same run as a 1.59x retrieve:
storing 600 files (page-cache writes, 0.5-0.8 s of CPU in this VM, the same for
getscu) is what separates the two. The code before (instance lists over 4
associations, stream asked for after the first image), same conditions, four runs:
DIMSE 0.76-1.05x (median 0.85x), WADO-RS 0.82-1.38x (1.23x). CPU of one retrieve,
ours + Orthanc's: getscu 1.5-2.0 s; DIMSE 1.3-2.2 s, was 1.9-2.9 s; WADO-RS 0.9-2.0 s,
of which Orthanc 0.34-0.50 s. Earlier, on a quieter machine and deleting each run's
files: getscu 0.49-0.79 s, DIMSE 0.90-1.15x, WADO-RS 1.5-1.7x. Before the work on
per-message costs (pynetdicom as shipped, plus TCP_NODELAY and max_pdu=0) the DIMSE
retrieve took 2.0-2.6 s (0.3-0.5x).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from viewer.archive.cache import Cache
from viewer.archive.nodes import LocalAE, parse_address
from viewer.archive.orthanc import OrthancServer, start_orthanc
from viewer.archive.retrieve import Retriever

LOCAL_AET = "REGARDBENCH"
# Orthanc 1.10 keeps a copy of the files it reads in a 128 MB memory cache by default:
# a 315 MB series never fits, so each instance of each retrieve was copied into it
# and evicted again (~0.05 s of Orthanc's CPU for WADO-RS, the same for C-GET). Off,
# Orthanc reads the files from the page cache, as it did before 1.10.
ORTHANC_SETTINGS: dict[str, Any] = {"MaximumStorageCacheSize": 0}


class _Slices:
    """A phantom CT series computed slice by slice (never the whole volume in memory)."""

    def __init__(self, n: int, size: int) -> None:
        self.n = n
        yy, xx = np.mgrid[:size, :size]
        r = np.hypot(yy - size / 2, xx - size / 2)
        self.base = np.where(r < size * 0.45, 40.0, -1000.0) + np.where(r < size * 0.1, 600.0, 0.0)
        self.noise = np.random.default_rng(0).normal(0, 20, (size, size))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k: int) -> np.ndarray:
        return np.round(self.base + np.roll(self.noise, k, axis=0) + (k % 50))


def make_series(folder: Path, images: int, size: int = 512) -> list[Path]:
    """The bench series: ``viewer.dicom.phantom`` if present, else a simple CT phantom."""
    done = folder / ".complete"
    if done.exists():
        return sorted(folder.glob("*.dcm"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        from viewer.dicom.phantom import write_phantom_series  # type: ignore[import-not-found]

        paths = list(write_phantom_series(folder, columns=size, rows=size, slices=images))
    except (ImportError, TypeError):
        from viewer.dicom.synthetic import write_series

        paths = write_series(
            folder, _Slices(images, size), value_range=(-1200.0, 2000.0), window=(40.0, 400.0)
        )
    done.write_text(str(len(paths)))
    return sorted(folder.glob("*.dcm"))


def _series_uids(path: Path) -> tuple[str, str]:
    from pydicom import dcmread

    ds = dcmread(path, stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def _empty(folder: Path) -> None:
    """Free the pages of the files under ``folder`` but keep the files until the end.

    The build machine's root file system is ext4 without a journal: there, creating a
    file after many recent deletions scans every recently freed inode of the block
    group (``recently_deleted()``, kept for 60-300 s), up to ~9 ms a file. Deleting
    each contender's 600 files before the next one writes its own made whoever came
    next pay for it (2-5 s of a retrieve). Truncated files keep their inodes, so every
    contender creates files in the same conditions; :func:`main` deletes them at the end.
    """
    for path in folder.rglob("*"):
        if path.is_file():
            os.truncate(path, 0)


def _spread(folder: Path) -> None:
    """Have ext4 place each folder made in ``folder`` in a block group of its own choice
    (the "top directory" flag, ``chattr +T``), away from the recently deleted inodes.

    On an ext4 without a journal (this build machine) creating a file scans the inodes
    of its block group deleted in the last 30 s to 6 min (``recently_deleted()``);
    the files other sessions' tests delete, or the ~11,000 of the previous run of this
    bench, made each contender's 600 files cost 0.3-0.6 s of CPU more in the kernel,
    growing run after run. Spread, a contender's folder lands in a group with many
    free inodes instead (600 files: 0.02-0.08 s instead of 0.06-0.62 s after 11,000
    deletions). A journaled ext4 (any user's disk) never does that scan. The same
    for every contender; nothing happens elsewhere than on ext4.
    """
    import fcntl
    import struct

    get_flags, set_flags, topdir = 0x80086601, 0x40086602, 0x00020000  # linux/fs.h
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        flags = struct.unpack("l", fcntl.ioctl(fd, get_flags, bytes(8)))[0]
        fcntl.ioctl(fd, set_flags, struct.pack("l", flags | topdir))
    except OSError:
        pass
    finally:
        os.close(fd)


def _fresh(work: Path, name: str) -> Path:
    """A new, empty folder for one timed run (never the folder of an earlier run)."""
    for n in range(1, 10_000):
        folder = work / f"{name}-{n}"
        if not folder.exists():
            return folder
    raise RuntimeError("too many runs")


def _cpu(who: int = 0) -> float:
    """User + system CPU seconds of this process (all its threads) or of its children."""
    usage = resource.getrusage(who or resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (Orthanc), from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_getscu(server: OrthancServer, study: str, series: str, out: Path) -> dict[str, float]:
    out.mkdir(parents=True)
    args = [
        "getscu", "-aet", LOCAL_AET, "-aec", server.aet, "-S",
        "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={study}",
        "-k", f"SeriesInstanceUID={series}", "-od", str(out),
        "127.0.0.1", str(server.dicom_port),
    ]  # fmt: skip
    env = dict(os.environ, TCP_NODELAY="1")
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env, timeout=600)
    seconds = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    files = list(out.iterdir())
    nbytes = sum(f.stat().st_size for f in files)
    _empty(out)
    return {
        "seconds": seconds,
        "bytes": nbytes,
        "instances": len(files),
        "first_image": float("nan"),
        "cpu": cpu,
    }


class Timeline:
    """Moments of one Regard retrieve, in seconds from the start of the measured span
    (``--timeline``): the series request sent, the series stream's first and last part
    received, the first and last instance stored, the writers done, the end.

    Wraps a few functions of ``viewer.archive`` (a measuring aid: nothing else changes).
    """

    STEPS = ("study query", "request sent", "first image", "first part", "last part",
             "last stored", "writers done", "end")  # fmt: skip

    def __init__(self) -> None:
        self.start = 0.0
        self.marks: dict[str, float] = {}
        self.runs: list[dict[str, float]] = []
        self.active = False

    def mark(self, step: str, first: bool = False) -> None:
        if self.active and not (first and step in self.marks):
            self.marks[step] = time.perf_counter() - self.start

    def begin(self) -> None:
        self.marks = {}
        self.start = time.perf_counter()
        self.active = True

    def end(self) -> None:
        self.mark("end")
        self.active = False  # the other contenders' retrieves are not timed
        self.runs.append(self.marks)

    def install(self) -> None:
        from viewer.archive import dicomweb, retrieve

        def wrap(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
            inner = getattr(owner, name)

            def outer(*args: Any, **kwargs: Any) -> Any:
                if before is not None:
                    before(*args, **kwargs)
                out = inner(*args, **kwargs)
                if after is not None:
                    after(*args, **kwargs)
                return out

            setattr(owner, name, outer)

        def parts(url: str, *args: Any, **kwargs: Any) -> Any:
            series = "/instances/" not in url  # the first image comes by its own request
            for part in stream_parts(url, *args, **kwargs):
                if series:
                    self.mark("first part", first=True)
                    self.mark("last part")
                yield part

        stream_parts = dicomweb.stream_parts
        dicomweb.stream_parts = parts  # type: ignore[assignment]
        wrap(dicomweb.DicomWebClient, "send_retrieve", after=lambda *a: self.mark("request sent"))
        wrap(retrieve._Run, "store", after=lambda *a, **k: self.mark("last stored"))
        wrap(retrieve._Writer, "close", after=lambda *a: self.mark("writers done"))

    def report(self) -> str:
        lines = ["timeline of each Regard retrieve, ms from the start (the study query first):"]
        head = " ".join(f"{step:>12}" for step in self.STEPS)
        lines.append(head)
        for marks in [*self.runs, {}]:
            if not marks:  # the medians
                marks = {
                    step: statistics.median(r.get(step, float("nan")) for r in self.runs)
                    for step in self.STEPS
                }
                lines.append("median:")
            cells = [marks.get(step, float("nan")) * 1000 for step in self.STEPS]
            lines.append(" ".join(f"{c:12.0f}" for c in cells))
        return "\n".join(lines)


TIMELINE: Timeline | None = None


def run_regard(
    address: str, associations: int, study: str, series: str, home: Path
) -> dict[str, float]:
    """Query -> retrieve the series into a fresh cache; first image decoded from its file."""
    from pydicom import dcmread

    cache = Cache(home)
    node = parse_address(address, name="bench", timeout=30, associations=associations)
    first: dict[str, float] = {}
    timeline = TIMELINE if "dicom-web" in address else None
    cpu = _cpu()
    started = time.perf_counter()
    if timeline is not None:
        timeline.begin()
    retriever = Retriever(node, cache, LocalAE(LOCAL_AET, timeout=30))
    found = retriever.query("study", {"StudyInstanceUID": study})
    if timeline is not None:
        timeline.mark("study query")

    def on_instance(path: Path) -> None:
        if not first:
            first["stored"] = time.perf_counter() - started
            if timeline is not None:
                timeline.mark("first image")
            dcmread(path).pixel_array  # noqa: B018 - decode it, as the viewer would
            first["decoded"] = time.perf_counter() - started

    result = retriever.retrieve(study, series, on_instance=on_instance, study_info=found[0])
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    if timeline is not None:
        timeline.end()
    cache.close()
    _empty(home)
    return {
        "seconds": seconds,
        "bytes": result.bytes,
        "instances": result.instances,
        "first_image": first.get("decoded", float("nan")),
        "cpu": cpu,
    }


def run_stream_only(address: str, study: str, series: str) -> dict[str, float]:
    """The WADO-RS series stream read and thrown away: what one stream from this
    archive allows at best (the archive serves it from one thread)."""
    from viewer.archive.dicomweb import ACCEPT_DICOM
    from viewer.archive.fastweb import stream_parts

    cpu = _cpu()
    started = time.perf_counter()
    url = f"{address}/studies/{study}/series/{series}"
    sizes = [len(part) for part in stream_parts(url, {"Accept": ACCEPT_DICOM}, 30, "bench")]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "bytes": sum(sizes),
        "instances": len(sizes),
        "first_image": float("nan"),
        "cpu": _cpu() - cpu,
    }


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    seconds = statistics.median(r["seconds"] for r in runs)
    nbytes = runs[0]["bytes"]
    return {
        "seconds": round(seconds, 3),
        "mb_per_s": round(nbytes / 1e6 / seconds, 1),
        "instances": int(runs[0]["instances"]),
        "megabytes": round(nbytes / 1e6, 1),
        "first_image_s": round(statistics.median(r["first_image"] for r in runs), 4),
        "cpu_s": round(statistics.median(r["cpu"] for r in runs), 3),
        "archive_cpu_s": round(statistics.median(r["archive_cpu"] for r in runs), 3),
        "all_seconds": [round(r["seconds"], 3) for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--associations", type=int, default=4)
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed rounds first (Python imports its modules on the first retrieve; "
        "getscu is a fresh process each time anyway)",
    )
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "regard-bench")
    parser.add_argument(
        "--only",
        choices=("getscu", "dimse", "web", "stream"),
        action="append",
        help="contenders to run (default getscu, dimse, web); 'stream' reads the WADO-RS "
        "series stream without storing it (the ceiling of one stream)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave this run's files (emptied) instead of deleting them at the end: "
        "on ext4 without a journal a run within minutes of deleting ~11,000 files pays "
        "for it (see _spread); delete the folder printed later",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="print when each step of the WADO-RS retrieves happened (see Timeline)",
    )
    parser.add_argument(
        "--orthanc",
        type=json.loads,
        default=ORTHANC_SETTINGS,
        metavar="JSON",
        help="Orthanc settings over the test ones, the same for every contender "
        f"(default {json.dumps(ORTHANC_SETTINGS)})",
    )
    parser.add_argument(
        "--delete-between",
        action="store_true",
        help="delete each run's files right after it (as before 2026-11-23) instead of "
        "emptying them and deleting everything at the end",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    global TIMELINE
    if args.timeline:
        TIMELINE = Timeline()
        TIMELINE.install()

    t = time.perf_counter()
    files = make_series(args.data / f"ct{args.images}", args.images)
    print(f"series: {len(files)} files ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
    study, series = _series_uids(files[0])
    work = Path(tempfile.mkdtemp(prefix="regard-bench-"))
    _spread(work)
    server = start_orthanc(work / "orthanc", extra=args.orthanc)
    try:
        t = time.perf_counter()
        server.store_files(files)
        print(f"stored into Orthanc in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        contenders = {
            "getscu": lambda: run_getscu(server, study, series, _fresh(work, "getscu")),
            "dimse": lambda: run_regard(
                server.dimse_address, args.associations, study, series, _fresh(work, "cache")
            ),
            "web": lambda: run_regard(
                server.web_address, args.associations, study, series, _fresh(work, "cache")
            ),
            "stream": lambda: run_stream_only(server.web_address, study, series),
        }
        chosen = args.only or ["getscu", "dimse", "web"]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
        for _ in range(args.warmup):
            for name in chosen:
                contenders[name]()
        if TIMELINE is not None:
            TIMELINE.runs.clear()
        pid = server.process.pid if server.process is not None else 0
        for _ in range(args.repeat):  # interleaved, so a noisy moment hits everyone
            for name in chosen:
                archive_cpu = _process_cpu(pid)
                runs[name].append(contenders[name]())
                runs[name][-1]["archive_cpu"] = _process_cpu(pid) - archive_cpu
                if args.delete_between:
                    for folder in work.glob("[cg]*-*"):
                        shutil.rmtree(folder, ignore_errors=True)
                print(f"  {name}: {runs[name][-1]['seconds']:.3f} s", file=sys.stderr)
        report: dict[str, Any] = {name: summarize(r) for name, r in runs.items()}
    finally:
        server.stop(graceful=False)
        if args.keep:
            print(f"files of this run left (emptied) in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if "getscu" in report:
        base = report["getscu"]["mb_per_s"]
        for name in report:
            report[name]["throughput_vs_getscu"] = round(report[name]["mb_per_s"] / base, 2)
            # the ratio within each repeat (same moment of a shared machine's load)
            report[name]["ratio_per_repeat"] = [
                round((r["bytes"] / r["seconds"]) / (g["bytes"] / g["seconds"]), 2)
                for r, g in zip(runs[name], runs["getscu"], strict=True)
            ]
    report["config"] = {"images": args.images, "associations": args.associations,
                        "repeat": args.repeat, "orthanc": args.orthanc}  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        head = f"{'':8} {'seconds':>8} {'MB/s':>8} {'first image s':>14} {'CPU s':>6}"
        head += f" {'Orthanc CPU s':>13} {'x getscu':>9}"
        print(f"{head}  {'x getscu in each repeat':>24}  seconds of each repeat")
        for name in chosen:
            r = report[name]
            ratio = r.get("throughput_vs_getscu", float("nan"))
            cells = f"{r['seconds']:8.3f} {r['mb_per_s']:8.1f} {r['first_image_s']:14.4f}"
            cells += f" {r['cpu_s']:6.3f} {r['archive_cpu_s']:13.3f}"
            each = " ".join(f"{x:.2f}" for x in r.get("ratio_per_repeat", []))
            print(f"{name:8} {cells} {ratio:9.2f}  {each:>24}  {r['all_seconds']}")
    if TIMELINE is not None and TIMELINE.runs:
        print(TIMELINE.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
