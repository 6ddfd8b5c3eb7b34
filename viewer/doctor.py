"""``regard doctor``: is this installation able to read images? One check per line.

Each ``check_*`` function returns a :class:`Check` ``(ok, what, fix)``:
``ok`` is ``True`` (OK), ``False`` (FAIL) or ``None`` (SKIP: nothing to check
here, e.g. no archive configured); ``what`` says what was found, ``fix`` what to
do about a FAIL or SKIP. No check raises: an unexpected exception becomes a
FAIL naming it, so the doctor always prints every line.

Checks that may crash the process (VTK picks an OpenGL library at run time and
segfaults when it is missing; Qt aborts without a display) run in a child
process: ``regard doctor --probe NAME`` (see :func:`run_probe`), so they work
the same from source and in the frozen application.

Qt-free: Qt and VTK are only imported inside the child probes.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from viewer import __version__

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 90.0  # a cold VTK or Qt start on a busy 2-core machine
NET_TIMEOUT = 5.0


class Check(NamedTuple):
    """One doctor line: ``ok`` True/False/None (OK/FAIL/SKIP), what was found, how to fix."""

    ok: bool | None
    what: str
    fix: str = ""

    @property
    def status(self) -> str:
        return {True: "OK", False: "FAIL", None: "SKIP"}[self.ok]


class Line(NamedTuple):
    """A check result with the name of the line it belongs to."""

    name: str
    check: Check

    def format(self) -> str:
        text = f"{self.check.status:<4} {self.name}: {self.check.what}"
        if self.check.fix and self.check.ok is not True:
            text += f" -- fix: {self.check.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.check.status,
            "what": self.check.what,
            "fix": self.check.fix,
        }


# --- helpers -------------------------------------------------------------------------------


def self_command(*args: str) -> list[str]:
    """The command line that runs ``regard ARGS`` with this very installation."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "viewer", *args]


def run_probe(name: str, timeout: float = PROBE_TIMEOUT) -> tuple[dict[str, Any] | None, str]:
    """Run ``regard doctor --probe NAME`` in a child; return (its JSON, or None; an error text)."""
    env = dict(os.environ)
    try:
        done = subprocess.run(
            self_command("doctor", "--probe", name),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"the {name} probe hung for {timeout:.0f} s"
    except OSError as exc:
        return None, f"cannot start the {name} probe: {exc}"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        how = _describe_exit(done.returncode)
        return None, f"the {name} probe {how}: {tail}"
    for text in reversed(done.stdout.strip().splitlines()):
        try:
            return json.loads(text), ""
        except json.JSONDecodeError:
            continue
    return None, f"the {name} probe printed no result"


def _describe_exit(code: int) -> str:
    if code < 0:
        return f"crashed (signal {-code})"
    if code in (134, 139):
        return f"crashed (exit {code})"
    return f"failed (exit {code})"


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _load_config() -> Any:
    from viewer.config import load_config

    return load_config()


# --- the checks ----------------------------------------------------------------------------


def check_install() -> Check:
    """Version, how Regard runs (frozen or source) and whether its resources are there."""
    from viewer.resources import is_frozen, resources_root

    root = resources_root()
    how = "installed" if is_frozen() else "from source"
    where = Path(sys.executable).resolve().parent if is_frozen() else Path(__file__).parent
    what = f"regard {__version__} {how} ({where}), Python {platform.python_version()}"
    if not root.is_dir() or not any(root.iterdir()):
        return Check(False, f"{what}; resources folder {root} missing or empty",
                     "reinstall Regard (the package is incomplete)")
    return Check(True, f"{what}, resources at {root}")


def check_config() -> Check:
    """The site file (managed by IT) and the user file can be read."""
    from viewer.config import ConfigError, read_toml, site_config_path, user_config_path

    site, user = site_config_path(), user_config_path()
    parts = []
    for label, path in (("site", site), ("user", user)):
        try:
            data = read_toml(path)
        except ConfigError as exc:
            return Check(False, str(exc), f"correct the TOML syntax of {path}")
        parts.append(f"{label} {path} ({', '.join(sorted(data)) or 'empty'})"
                     if path.is_file() else f"{label} {path} (none)")
    return Check(True, "; ".join(parts))


# Transfer syntaxes a reading workstation must decode (PS3.5 section 10, PS3.6 Table A-1).
REQUIRED_SYNTAXES = (
    ("1.2.840.10008.1.2.4.50", "JPEG baseline"),
    ("1.2.840.10008.1.2.4.51", "JPEG extended"),
    ("1.2.840.10008.1.2.4.57", "JPEG lossless"),
    ("1.2.840.10008.1.2.4.70", "JPEG lossless SV1"),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS near-lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
    ("1.2.840.10008.1.2.5", "RLE lossless"),
)


def _plugins_for(uid: str) -> tuple[str, ...]:
    try:
        from viewer.dicom.codecs import available_plugins
    except ImportError:
        from pydicom.pixels.decoders.base import get_decoder

        try:
            return tuple(sorted(get_decoder(uid).available_plugins))
        except NotImplementedError:
            return ()
    return tuple(available_plugins(uid))


def check_codecs() -> Check:
    """Every compressed transfer syntax of :data:`REQUIRED_SYNTAXES` has a working decoder."""
    missing: list[str] = []
    decoders: set[str] = set()
    for uid, label in REQUIRED_SYNTAXES:
        plugins = _plugins_for(uid)
        decoders.update(plugins)
        if not plugins:
            missing.append(label)
    if missing:
        return Check(False, f"no decoder for {', '.join(missing)}",
                     "reinstall Regard; from source: pip install pylibjpeg pylibjpeg-libjpeg "
                     "pylibjpeg-openjpeg pylibjpeg-rle pyjpegls python-gdcm")
    return Check(True, f"{len(REQUIRED_SYNTAXES)}/{len(REQUIRED_SYNTAXES)} compressed syntaxes "
                 "(JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, RLE); decoders: "
                 + ", ".join(sorted(decoders)))


def check_decoding() -> Check:
    """Compressed images really decode in the worker processes (forkserver/spawn, also frozen)."""
    result, error = run_probe("decode")
    if result is None:
        return Check(False, error, "reinstall Regard; report the message if it persists")
    if not result.get("ok"):
        return Check(False, str(result.get("error")), "reinstall Regard")
    return Check(True, f"{result['files']} JPEG-LS files decoded exactly by {result['workers']} "
                 f"worker processes ({result['method']}) in {result['seconds']:.1f} s")


def probe_decode() -> dict[str, Any]:
    """Child side of :func:`check_decoding`: write JPEG-LS files, decode them in the pool."""
    import tempfile

    import numpy as np
    from pydicom.uid import JPEGLSLossless

    from viewer.dicom import parallel
    from viewer.dicom.synthetic import write_series

    rng = np.random.default_rng(7)
    values = rng.integers(-1000, 2000, size=(4, 32, 32)).astype(float)
    with tempfile.TemporaryDirectory(prefix="regard-doctor-") as folder:
        paths = write_series(folder, values, transfer_syntax=JPEGLSLossless, rescale=(1.0, -1024.0))
        start = time.monotonic()
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        try:
            arrays = parallel.decode_files(paths, workers=2, timeout=60.0, method=method)
        finally:
            parallel.shutdown()
        seconds = time.monotonic() - start
    expected = (values + 1024.0).astype(np.int64)
    exact = len(arrays) == len(expected) and all(
        np.array_equal(np.asarray(a, dtype=np.int64).reshape(e.shape), e)
        for a, e in zip(arrays, expected, strict=True))
    return {"ok": exact, "error": "" if exact else "decoded values differ from those written",
            "files": len(paths), "workers": 2, "method": method, "seconds": seconds}


def check_vtk() -> Check:
    """VTK's OpenGL backend: libraries present, then one real frame rendered in a child."""
    try:
        from viewer.render.backend import BackendError, check_backend
    except ImportError:
        description = "VTK"
    else:
        try:
            description = check_backend()
        except BackendError as exc:
            return Check(False, str(exc).split(". Install")[0], _VTK_FIX)
    result, error = run_probe("vtk")
    if result is None:
        return Check(False, f"{description}: {error}", _VTK_FIX)
    if not result.get("ok"):
        return Check(False, f"{description}: {result.get('error')}", _VTK_FIX)
    return Check(True, f"{result['window']} rendered a test frame; OpenGL {result['renderer']}"
                 f", VTK {result['vtk']}")


_VTK_FIX = ("Debian/Ubuntu: apt-get install libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri; "
            "Windows/macOS: update the graphics driver")


def probe_vtk() -> dict[str, Any]:
    """Child side of :func:`check_vtk`: render a red 16x16 frame offscreen and read it back."""
    try:
        from viewer.render.backend import ensure_backend

        ensure_backend()
    except ImportError:
        pass
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL window classes)
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkVersion
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(16, 16)
    renderer = vtkRenderer()
    renderer.SetBackground(1.0, 0.0, 0.0)
    window.AddRenderer(renderer)
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.Update()
    pixels = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
    renderer_name = "unknown"
    for text in window.ReportCapabilities().splitlines():
        if text.lower().startswith("opengl renderer string"):
            renderer_name = text.split(":", 1)[1].strip()
    red_ok = int(pixels[:, 0].min()) >= 250 and int(pixels[:, 1:3].max()) <= 5
    return {
        "ok": red_ok,
        "error": "" if red_ok else f"wrong pixels {pixels[0].tolist()} instead of red",
        "window": window.GetClassName(),
        "renderer": renderer_name,
        "vtk": vtkVersion.GetVTKVersion(),
    }


def check_screens() -> list[Check]:
    """Each screen, its physical resolution and its display class (one line per screen)."""
    try:
        from viewer.display.screens import display_available
    except ImportError:
        display_available = None  # type: ignore[assignment]
    has_display = display_available() if display_available else bool(
        sys.platform in ("win32", "darwin") or os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
    )
    if not has_display:
        return [Check(None, "no display (headless session: DISPLAY and WAYLAND_DISPLAY unset)",
                      "run regard doctor in the user's desktop session to check the screens")]
    result, error = run_probe("screens")
    if result is None:
        return [Check(False, error, "check the desktop session (DISPLAY) and Qt's xcb libraries: "
                      "apt-get install libxcb-cursor0 libxkbcommon-x11-0")]
    screens = result.get("screens", [])
    if not screens:
        return [Check(False, "the desktop session reports no screen", "connect a monitor")]
    lines = []
    for s in screens:
        what = f"{s['name']} {s['width']}x{s['height']} ({s['megapixels']:.1f} MP)"
        cls = s.get("class")
        if cls:
            lines.append(Check(True, f"{what}, class {cls}"))
        elif "class" in s:
            lines.append(Check(False, f"{what}, below every display class of the policy",
                               "not for diagnostic reading: use a diagnostic screen"))
        else:
            lines.append(Check(True, f"{what}, class unknown (no display policy)"))
    return lines


def probe_screens() -> dict[str, Any]:
    """Child side of :func:`check_screens`: Qt's screens and their class from the policy."""
    from viewer.display.screens import list_screens

    try:
        from viewer.display.policy import load_policy, screen_class
    except ImportError:
        load_policy = screen_class = None  # type: ignore[assignment]
    policy = load_policy() if load_policy else None
    out = []
    for screen in list_screens():
        item = screen.to_dict()
        if policy is not None and screen_class is not None:
            item["class"] = screen_class(screen, policy)
        out.append(item)
    return {"screens": out}


_BAD_KEYRINGS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def check_keyring() -> Check:
    """A real secret store is there (archive passwords and keys live only in the keyring)."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend

        backend = keyring.get_keyring()
    except Exception as exc:
        return Check(False, f"keyring unusable: {exc}", _KEYRING_FIX)
    backends = backend.backends if isinstance(backend, ChainerBackend) else [backend]
    names = [f"{type(b).__module__}.{type(b).__name__}" for b in backends]
    real = [n for n in names if not n.startswith(_BAD_KEYRINGS)]
    if not real:
        return Check(False, f"no secure keyring backend ({', '.join(names) or 'none'})",
                     _KEYRING_FIX)
    return Check(True, ", ".join(real))


_KEYRING_FIX = ("Linux: start a Secret Service in the desktop session (gnome-keyring or "
                "KWallet, e.g. apt-get install gnome-keyring); Windows/macOS use the system store")


def check_archives() -> list[Check]:
    """C-ECHO (DIMSE) or a QIDO-RS request (DICOMweb) to every configured archive node."""
    try:
        from viewer.archive.nodes import NodeError, configured_nodes, local_ae
    except ImportError as exc:
        return [Check(None, f"archive layer not available ({exc})", "")]
    try:
        config = _load_config()
        nodes = configured_nodes(config)
        ae = local_ae(config)
    except (NodeError, ValueError) as exc:
        return [Check(False, str(exc), "correct the archive settings in config.toml")]
    if not nodes:
        return [Check(None, "no archive node configured",
                      "add [archives.NAME] address = \"dicom://AET@host:port\" to the site "
                      "config (see site-config.example.toml)")]
    return [_echo(node, ae.ae_title) for node in nodes.values()]


def _echo(node: Any, calling_aet: str) -> Check:
    """C-ECHO (Verification, PS3.4 Annex A) or a DICOMweb request, by the archive layer."""
    from viewer.archive.errors import ArchiveError
    from viewer.archive.source import ArchiveSource

    label = f"{node.name} {node.address}"
    start = time.monotonic()
    try:
        ArchiveSource(node).echo()
    except (ArchiveError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check(False, f"{label}: {first}", _echo_fix(node))
    return Check(True, f"{label} answered in {time.monotonic() - start:.2f} s"
                 f" (calling AE {calling_aet})" if node.protocol == "dimse" else
                 f"{label} answered in {time.monotonic() - start:.2f} s")


def _echo_fix(node: Any) -> str:
    if node.protocol == "dicomweb":
        return (f"check the URL, the network route to {node.host} and the credentials in the "
                f"keyring (service regard-archive, user {node.name}:{node.username or 'token'})")
    return (f"check that {node.host}:{node.port} is reachable and that the archive knows "
            "our AE title (ask the PACS administrator)")


def _audit_settings() -> dict[str, Any]:
    """The effective ``[audit]`` table: the access layer's merge (a user cannot change the
    site's repository), else the plain merged configuration."""
    try:
        from viewer.access.policy import AccessPolicy
    except ImportError:
        return _load_config().section("audit")
    policy = AccessPolicy.load()
    return {**policy.audit, "repository": policy.repository}


def _tls_context(section: dict[str, Any]) -> ssl.SSLContext:
    """The client context the audit forwarder itself uses (TLS 1.2+, site CA, client cert)."""
    try:
        from viewer.access.syslog import ssl_context_from
    except ImportError:
        ctx = ssl.create_default_context(cafile=section.get("ca_file") or None)
        if section.get("cert_file"):
            ctx.load_cert_chain(section["cert_file"], section.get("key_file") or None)
        return ctx
    return ssl_context_from(section)


def _spool_backlog(address: str) -> str:
    """How many journal records still wait for the repository (the journal is the spool)."""
    try:
        from viewer.access.journal import default_journal_path
        from viewer.access.syslog import AuditForwarder

        path = default_journal_path()
        if not path.is_file():
            return ""
        pending = AuditForwarder(path, address).pending()
    except Exception as exc:  # the line is about reachability; the backlog is a bonus
        log.debug("audit backlog unknown: %s", exc)
        return ""
    return f"; {pending} record(s) waiting to be sent"


def check_audit() -> Check:
    """The audit repository (``[audit] repository``) accepts a connection (TLS: a handshake)."""
    section = _audit_settings()
    address = str(section.get("repository", "") or "")
    if not address:
        return Check(None, "no audit repository configured (local journal only)",
                     "set [audit] repository = \"tls://host:6514\" in the site config")
    parts = urlsplit(address)
    scheme, host = parts.scheme.lower(), parts.hostname
    port = parts.port or {"udp": 514, "tcp": 6514, "tls": 6514}.get(scheme)
    if scheme not in ("udp", "tcp", "tls") or not host:
        return Check(False, f"[audit] repository '{address}' is not udp://, tcp:// or "
                     "tls://host:port", "correct [audit] repository in the site config")
    backlog = _spool_backlog(address)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return Check(False, f"{address}: cannot resolve {host}: {exc}{backlog}",
                     "check the name / DNS")
    if scheme == "udp":
        return Check(True, f"{address} resolves to {infos[0][4][0]} (UDP: delivery cannot be "
                     f"confirmed){backlog}")
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=NET_TIMEOUT) as sock:
            if scheme == "tls":
                with _tls_context(section).wrap_socket(sock, server_hostname=host):
                    pass
    except (OSError, ssl.SSLError, ValueError) as exc:
        return Check(False, f"{address} unreachable: {exc}{backlog}",
                     f"check that the syslog collector listens on {host}:{port} "
                     "(and its certificate, and [audit] ca_file, for tls://)")
    return Check(True, f"{address} accepted a connection in {time.monotonic() - start:.2f} s"
                 f"{backlog}")


def cache_dir() -> Path:
    """Where retrieved studies are kept (``$REGARD_HOME/cache``, as viewer.archive.cache)."""
    from viewer.config import regard_home

    return regard_home() / "cache"


def _folder_size(root: Path) -> tuple[int, int]:
    total = count = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
            count += 1
    return total, count


MIN_FREE_BYTES = 2 * 1024**3


def check_cache() -> Check:
    """Size of the local cache and the free space left for new studies."""
    root = cache_dir()
    size, count = _folder_size(root) if root.is_dir() else (0, 0)
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    limit = _load_config().section("cache").get("max_gb")
    what = f"{human_size(size)} in {count} files at {root}, {human_size(free)} free"
    if limit:
        what += f", limit {limit} GB"
    if free < MIN_FREE_BYTES:
        return Check(False, what, f"free disk space on {probe} or lower [cache] max_gb")
    return Check(True, what)


# --- running them ------------------------------------------------------------------------

CHECKS: tuple[tuple[str, Callable[[], Check | list[Check]]], ...] = (
    ("regard", check_install),
    ("config", check_config),
    ("codecs", check_codecs),
    ("decoding", check_decoding),
    ("vtk", check_vtk),
    ("screen", check_screens),
    ("keyring", check_keyring),
    ("archive", check_archives),
    ("audit", check_audit),
    ("cache", check_cache),
)

PROBES: dict[str, Callable[[], dict[str, Any]]] = {
    "vtk": probe_vtk,
    "screens": probe_screens,
    "decode": probe_decode,
}


def _safe(name: str, func: Callable[[], Check | list[Check]]) -> list[Line]:
    try:
        result = func()
    except Exception as exc:  # the doctor must never crash: report and go on
        log.debug("check %s failed", name, exc_info=True)
        result = Check(False, f"the check itself failed: {type(exc).__name__}: {exc}",
                       "report this to the Regard maintainers")
    checks = result if isinstance(result, list) else [result]
    return [Line(name, c) for c in checks]


def run_checks(names: Iterable[str] | None = None) -> list[Line]:
    """Run the checks (all, or those named) and return their lines in order."""
    wanted = set(names) if names else None
    lines: list[Line] = []
    for name, func in CHECKS:
        if wanted is None or name in wanted:
            lines.extend(_safe(name, func))
    return lines
