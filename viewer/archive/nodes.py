"""Archive nodes: where a PACS is and how to talk to it.

A node is either configured by name in ``config.toml`` (site file or
``$REGARD_HOME/config.toml``)::

    [archive]                    # our side
    ae_title = "REGARD"          # calling AE title, and ours as a C-MOVE destination
    port = 11113                 # our storage SCP port for C-MOVE (0 = a free port)
    timeout = 10                 # seconds for network operations

    [archives.pacs]
    address = "dicom://PACS@pacs.example.org:104"
    retrieve = "get"             # or "move"
    associations = 4             # parallel associations / HTTP streams
    engine = "fast"              # our own C-FIND/C-GET and WADO-RS readers, or "pynetdicom"
    tls_ca = "/etc/regard/ca.pem"        # dicoms:// and https:// only
    tls_cert = "/etc/regard/me.pem"      # client certificate (optional)
    tls_key = "/etc/regard/me.key"       # passphrase, if any, in the keyring

    [archives.web]
    address = "https://pacs.example.org/dicom-web"
    username = "alice"                   # basic auth; password in the keyring
    auth = "basic"                       # or "bearer" (token in the keyring)

or given directly as an address: ``dicom://AET@host:port``, ``dicoms://AET@host:port``
(DICOM TLS, PS3.15 B.9), ``http(s)://host:port/path-to-dicom-web``.

Secrets (passwords, bearer tokens, key passphrases) come only from the
keyring: service :data:`KEYRING_SERVICE`, user name ``"<node>:<what>"``
where what is the user name (basic auth), ``token`` (bearer) or ``tls-key``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from viewer.config import Config, load_config

log = logging.getLogger(__name__)

KEYRING_SERVICE = "regard-archive"
DEFAULT_AE_TITLE = "REGARD"
DEFAULT_TIMEOUT = 10.0

_AET_RE = re.compile(r"^[\x20-\x7e]{1,16}$")


class NodeError(ValueError):
    """An archive node is unknown or badly described; the message says which and why."""


@dataclass(frozen=True)
class LocalAE:
    """Our own side of DICOM associations (settings ``[archive]``)."""

    ae_title: str = DEFAULT_AE_TITLE
    port: int = 0
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class ArchiveNode:
    """One archive (PACS) reachable over DIMSE or DICOMweb."""

    name: str
    protocol: str  # "dimse" or "dicomweb"
    host: str
    port: int
    ae_title: str = ""
    url: str = ""
    tls: bool = False
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    retrieve: str = "get"
    associations: int = 4
    username: str | None = None
    auth: str | None = None  # None, "basic", "bearer"
    timeout: float = DEFAULT_TIMEOUT
    options: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def address(self) -> str:
        if self.protocol == "dicomweb":
            return self.url
        return f"{'dicoms' if self.tls else 'dicom'}://{self.ae_title}@{self.host}:{self.port}"

    def secret(self, what: str) -> str | None:
        """Return a secret of this node from the keyring (``None`` if absent)."""
        import keyring

        return keyring.get_password(KEYRING_SERVICE, f"{self.name}:{what}")

    def with_(self, **changes: Any) -> ArchiveNode:
        return replace(self, **changes)


def parse_address(address: str, name: str | None = None, **settings: Any) -> ArchiveNode:
    """Build a node from ``dicom://AET@host:port``, ``dicoms://...`` or ``http(s)://...``."""
    parts = urlsplit(address.strip())
    scheme = parts.scheme.lower()
    label = name or address
    if scheme in ("dicom", "dicoms"):
        aet = parts.username
        if not aet:
            raise NodeError(f"{address}: the called AE title is missing (dicom://AET@host:port)")
        if not _AET_RE.match(aet) or "\\" in aet:
            raise NodeError(f"{address}: '{aet}' is not a valid AE title (1-16 characters)")
        try:
            port = parts.port or 104
        except ValueError as exc:
            raise NodeError(f"{address}: bad port") from exc
        if not parts.hostname:
            raise NodeError(f"{address}: the host is missing")
        return _node(
            settings,
            name=label,
            protocol="dimse",
            host=parts.hostname,
            port=port,
            ae_title=aet,
            tls=scheme == "dicoms",
        )
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise NodeError(f"{address}: the host is missing")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise NodeError(f"{address}: bad port") from exc
        url = address.strip().rstrip("/")
        return _node(
            settings,
            name=label,
            protocol="dicomweb",
            host=parts.hostname,
            port=port,
            url=url,
            tls=scheme == "https",
        )
    raise NodeError(
        f"{address}: unknown archive address (expected dicom://AET@host:port, "
        "dicoms://AET@host:port or http(s)://host/dicom-web)"
    )


def _node(settings: dict[str, Any], **base: Any) -> ArchiveNode:
    kwargs = dict(base)
    for key in ("tls_ca", "tls_cert", "tls_key"):
        if settings.get(key):
            kwargs[key] = Path(str(settings[key])).expanduser()
    if "retrieve" in settings:
        method = str(settings["retrieve"]).lower()
        if method not in ("get", "move"):
            raise NodeError(f"archive '{base['name']}': retrieve must be 'get' or 'move'")
        kwargs["retrieve"] = method
    if "associations" in settings:
        kwargs["associations"] = max(1, int(settings["associations"]))
    if settings.get("username"):
        kwargs["username"] = str(settings["username"])
        kwargs["auth"] = "basic"
    if settings.get("auth"):
        auth = str(settings["auth"]).lower()
        if auth not in ("basic", "bearer", "none"):
            raise NodeError(f"archive '{base['name']}': auth must be 'basic' or 'bearer'")
        kwargs["auth"] = None if auth == "none" else auth
    if "timeout" in settings:
        kwargs["timeout"] = float(settings["timeout"])
    kwargs["options"] = dict(settings)
    return ArchiveNode(**kwargs)


def local_ae(config: Config | None = None) -> LocalAE:
    """Our calling/listening AE title, storage port and timeout (``[archive]`` settings)."""
    section = (config or load_config()).section("archive")
    aet = str(section.get("ae_title", DEFAULT_AE_TITLE))
    if not _AET_RE.match(aet):
        raise NodeError(f"[archive] ae_title '{aet}' is not a valid AE title")
    return LocalAE(
        ae_title=aet,
        port=int(section.get("port", 0)),
        timeout=float(section.get("timeout", DEFAULT_TIMEOUT)),
    )


def configured_nodes(config: Config | None = None) -> dict[str, ArchiveNode]:
    """All nodes of the ``[archives.NAME]`` tables, site file first, user file over it."""
    cfg = config or load_config()
    default_timeout = local_ae(cfg).timeout
    nodes: dict[str, ArchiveNode] = {}
    for name, table in cfg.section("archives").items():
        if not isinstance(table, dict) or "address" not in table:
            raise NodeError(f"archive '{name}' in config.toml has no address")
        extra = {k: v for k, v in table.items() if k != "address"}
        settings = {"timeout": default_timeout, **extra}
        nodes[name] = parse_address(str(table["address"]), name=name, **settings)
    return nodes


def resolve_node(spec: str, config: Config | None = None) -> ArchiveNode:
    """A configured node name, or an address (then built with default settings)."""
    cfg = config or load_config()
    nodes = configured_nodes(cfg)
    if spec in nodes:
        return nodes[spec]
    if "://" in spec:
        # An address that is also configured keeps its settings (TLS files, auth).
        for node in nodes.values():
            if node.address.rstrip("/") == spec.strip().rstrip("/"):
                return node
        return parse_address(spec, timeout=local_ae(cfg).timeout)
    known = f"configured: {', '.join(sorted(nodes))}" if nodes else "no archive is configured"
    raise NodeError(f"unknown archive '{spec}' ({known}; or give an address such as "
                    "dicom://AET@host:port)")  # fmt: skip
