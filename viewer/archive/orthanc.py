"""A local Orthanc for tests, the demo and the benchmarks.

Orthanc (Debian packages ``orthanc`` and ``orthanc-dicomweb``) is started with
its own JSON configuration in a temporary folder, on free ports of 127.0.0.1,
with ``TCP_NODELAY=1`` in its environment (Debian's DCMTK keeps Nagle's
algorithm on otherwise: PLATFORM.md measured 45.8 s instead of 1.03 s for a
600-image C-GET). Orthanc 1.10 has no listen-address option, so remote access
stays off and the ports are only used on loopback.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ORTHANC_BINARY = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


class OrthancError(RuntimeError):
    """Orthanc could not be started or did not answer."""


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class OrthancTls:
    """DICOM TLS settings of Orthanc (``DicomTls*`` options), PEM files."""

    certificate: Path
    private_key: Path
    trusted_certificates: Path
    remote_certificate_required: bool = True


@dataclass(eq=False)
class OrthancServer:
    """A running Orthanc; stop it with :meth:`stop` (or use it as a context manager)."""

    folder: Path
    aet: str
    dicom_port: int
    http_port: int
    process: subprocess.Popen[bytes] | None
    config: dict[str, Any] = field(default_factory=dict)
    tls: bool = False
    _own_folder: bool = False

    @property
    def dimse_address(self) -> str:
        scheme = "dicoms" if self.tls else "dicom"
        return f"{scheme}://{self.aet}@127.0.0.1:{self.dicom_port}"

    @property
    def web_address(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/dicom-web"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def config_path(self) -> Path:
        return self.folder / "orthanc.json"

    def rest_auth(self) -> tuple[str, str] | None:
        users = self.config.get("RegisteredUsers") or {}
        if self.config.get("AuthenticationEnabled") and users:
            name, password = next(iter(users.items()))
            return (name, password)
        return None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kill Orthanc abruptly (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, remove: bool = True, graceful: bool = True) -> None:
        """Stop Orthanc (SIGTERM, then SIGKILL) and remove its folder if we made it.

        ``graceful=False`` kills it at once (tests: its shutdown takes 2-3 s).
        """
        if not graceful:
            self.kill()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if remove and self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> None:
        """Start Orthanc again on the same configuration, storage and ports."""
        if self.is_running():
            self.stop(remove=False)
        self.process = _launch(self.folder, self.config_path)
        _wait_ready(self)

    def __enter__(self) -> OrthancServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- seeding -----------------------------------------------------------------

    def store_files(self, files: Iterable[Path], threads: int = 4) -> int:
        """Store Part 10 files through Orthanc's REST ``POST /instances``; return the count.

        REST from four threads ingests ~211 images/s here, faster than storescu.
        """
        import httpx

        paths = [Path(p) for p in files]
        with httpx.Client(base_url=self.rest_url, auth=self.rest_auth(), timeout=60) as client:

            def post(path: Path) -> int:
                resp = client.post("/instances", content=path.read_bytes())
                if resp.status_code != 200:
                    raise OrthancError(f"Orthanc refused {path}: HTTP {resp.status_code}")
                return 1

            with ThreadPoolExecutor(threads) as pool:
                return sum(pool.map(post, paths))

    def storescu(
        self, paths: Iterable[Path], calling_aet: str = "STORESCU", options: Iterable[str] = ()
    ) -> None:
        """Store files or folders with DCMTK's storescu (``TCP_NODELAY=1``, ``+sd +r``).

        ``options`` adds storescu flags, e.g. ``["-xs"]`` to send JPEG lossless files
        without converting them (PLATFORM.md).
        """
        args = [
            "storescu", "-aet", calling_aet, "-aec", self.aet, "+sd", "+r", "-R", "-nh",
            *options, "127.0.0.1", str(self.dicom_port), *[str(p) for p in paths],
        ]  # fmt: skip
        env = dict(os.environ, TCP_NODELAY="1")
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        if out.returncode != 0:
            raise OrthancError(f"storescu failed ({out.returncode}): {out.stderr.strip()[-500:]}")

    def count_instances(self) -> int:
        import httpx

        resp = httpx.get(f"{self.rest_url}/statistics", auth=self.rest_auth(), timeout=10)
        resp.raise_for_status()
        return int(resp.json()["CountInstances"])


_running: weakref.WeakSet[OrthancServer] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    """Do not leave an Orthanc (or its temporary folder) behind when our process exits."""
    for server in list(_running):
        server.stop(graceful=False)


def _launch(folder: Path, config_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TCP_NODELAY="1")
    log_file = (folder / "orthanc.log").open("ab")
    try:
        proc = subprocess.Popen(
            [ORTHANC_BINARY, "--logdir=" + str(folder), str(config_path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
        return proc
    finally:
        log_file.close()


def _wait_ready(server: OrthancServer, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            tail = _log_tail(server.folder)
            raise OrthancError(f"Orthanc exited with code {server.process.returncode}: {tail}")
        try:
            with socket.create_connection(("127.0.0.1", server.http_port), timeout=0.2):
                pass
            with socket.create_connection(("127.0.0.1", server.dicom_port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    server.stop(remove=False)
    raise OrthancError(
        f"Orthanc did not open its ports within {timeout:.0f} s: {_log_tail(server.folder)}"
    )


def _log_tail(folder: Path) -> str:
    logs = sorted(folder.glob("*.log*"))
    text = " ".join(p.read_text(errors="replace")[-600:] for p in logs)
    return " ".join(text.split())[-600:]


def start_orthanc(
    folder: Path | None = None,
    *,
    aet: str = "ORTHANC",
    modalities: Mapping[str, tuple[str, str, int]] | None = None,
    users: Mapping[str, str] | None = None,
    tls: OrthancTls | None = None,
    check_called_aet: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> OrthancServer:
    """Start an Orthanc with the DICOMweb plugin on free loopback ports.

    Parameters
    ----------
    folder
        Where its configuration, database and logs go (a new temporary folder if None,
        removed by :meth:`OrthancServer.stop`).
    modalities
        Known peers ``name -> (AET, host, port)``, needed as C-MOVE destinations.
    users
        HTTP basic-auth users; enables authentication on the REST and DICOMweb API.
    tls
        DICOM TLS on the DIMSE port (then the port speaks TLS only).
    check_called_aet
        Reject associations whose called AE title is not Orthanc's (``DicomCheckCalledAet``).
    """
    if not Path(ORTHANC_BINARY).exists():
        raise OrthancError(f"{ORTHANC_BINARY} not found: install the Debian package 'orthanc'")
    own = folder is None
    folder = Path(tempfile.mkdtemp(prefix="regard-orthanc-")) if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dicom_port, http_port = free_port(), free_port()
    while http_port == dicom_port:
        http_port = free_port()
    config: dict[str, Any] = {
        "Name": "Regard test archive",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "StorageCompression": False,
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": bool(users),
        "RegisteredUsers": dict(users or {}),
        "DicomCheckCalledAet": check_called_aet,
        "DicomCheckModalityHost": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": True,
        "DicomAlwaysAllowStore": True,
        "UnknownSopClassAccepted": True,
        "DicomScpTimeout": 30,
        "DicomModalities": {k: list(v) for k, v in (modalities or {}).items()},
        "SaveJobs": False,
        "Plugins": [DICOMWEB_PLUGIN] if Path(DICOMWEB_PLUGIN).exists() else [],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
        "HttpCompressionEnabled": False,
        "ConcurrentJobs": 2,
    }
    if tls is not None:
        config.update(
            DicomTlsEnabled=True,
            DicomTlsCertificate=str(tls.certificate),
            DicomTlsPrivateKey=str(tls.private_key),
            DicomTlsTrustedCertificates=str(tls.trusted_certificates),
            DicomTlsRemoteCertificateRequired=tls.remote_certificate_required,
        )
    config.update(extra or {})
    server = OrthancServer(
        folder=folder,
        aet=aet,
        dicom_port=dicom_port,
        http_port=http_port,
        process=None,
        config=config,
        tls=tls is not None,
        _own_folder=own,
    )
    server.config_path.write_text(json.dumps(config, indent=2))
    server.process = _launch(folder, server.config_path)
    _running.add(server)
    _wait_ready(server)
    log.info("Orthanc started: DICOM port %d, HTTP port %d", dicom_port, http_port)
    return server


def start_demo_archive(studies: Path | Iterable[Path], folder: Path | None = None) -> OrthancServer:
    """Start a demo Orthanc holding the DICOM files found under ``studies``.

    Returns the running server; its ``dimse_address`` (``dicom://ORTHANC@127.0.0.1:port``)
    and ``web_address`` (``http://127.0.0.1:port/dicom-web``) are node addresses that
    ``regard archive ... --archive`` accepts. Stop it with ``server.stop()``.
    """
    roots = [Path(studies)] if isinstance(studies, (str, Path)) else [Path(p) for p in studies]
    files = [p for root in roots for p in _dicom_files(root)]
    server = start_orthanc(folder)
    try:
        server.store_files(files)
    except Exception:
        server.stop()
        raise
    return server


def _dicom_files(root: Path) -> list[Path]:
    """Part 10 files under ``root`` (checked by their 'DICM' magic at offset 128)."""
    if root.is_file():
        return [root]
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                fh.seek(128)
                if fh.read(4) == b"DICM":
                    found.append(path)
        except OSError:
            continue
    return found
