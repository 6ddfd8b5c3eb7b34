"""DICOMweb client: QIDO-RS search and WADO-RS retrieve (PS3.18 10.4 and 10.6) over httpx.

WADO-RS responses are read as a stream of ``multipart/related; type="application/dicom"``
parts and each part (a Part 10 file, PS3.18 8.7.3.1) is written to the cache as
received, without decoding. We ask for ``transfer-syntax=*`` so the archive sends
what it stores instead of transcoding (Orthanc is 19x slower otherwise, PLATFORM.md).
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from viewer.archive.errors import (
    ArchiveError,
    ArchiveTimeout,
    ArchiveUnreachable,
    AuthenticationFailed,
    ProtocolError,
    RetrieveCancelled,
)
from viewer.archive.fastweb import FallBack, PipedPart, send_get, stream_parts
from viewer.archive.nodes import ArchiveNode

log = logging.getLogger(__name__)

ACCEPT_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
_CHUNK = 1 << 20

#: Return keys asked through ``includefield`` (QIDO-RS returns the required ones anyway).
INCLUDE_FIELDS: dict[str, tuple[str, ...]] = {
    "study": (
        "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
        "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID",
        "StudyDescription", "ModalitiesInStudy", "ReferringPhysicianName",
        "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
    ),
    "series": (
        "StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber",
        "SeriesDescription", "BodyPartExamined", "NumberOfSeriesRelatedInstances",
    ),
    "image": (
        "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
        "InstanceNumber",
    ),
}  # fmt: skip
_PATIENT_KEYS = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex")


def dicom_json_to_dict(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DICOM JSON object (PS3.18 F.2) as keyword -> str / list of str (sequences skipped)."""
    from pydicom.datadict import keyword_for_tag

    out: dict[str, Any] = {}
    for tag, attr in item.items():
        try:
            keyword = keyword_for_tag(int(tag, 16))
        except ValueError:
            continue
        if (
            not keyword
            or attr.get("vr") == "SQ"
            or keyword in ("SpecificCharacterSet", "RetrieveAETitle", "RetrieveURL")
        ):
            continue
        values = attr.get("Value")
        if not values:
            out[keyword] = ""
            continue
        texts = []
        for value in values:
            if isinstance(value, dict):
                texts.append(str(value.get("Alphabetic", "")))
            else:
                texts.append(str(value))
        out[keyword] = texts[0] if len(texts) == 1 else texts
    return out


_ELEMENT = struct.Struct("<HH2sH")  # group, element, VR, 16-bit length (Explicit VR LE)
_LONG_VRS = frozenset(
    (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV", b"UV")
)
_META_NAMES = {
    0x0002: "MediaStorageSOPClassUID",
    0x0003: "MediaStorageSOPInstanceUID",
    0x0010: "TransferSyntaxUID",
}


def part10_meta(data: bytes | bytearray | memoryview) -> dict[str, str]:
    """Read File Meta Information group (0002) of a Part 10 file (PS3.10 7.1).

    Returns MediaStorageSOPClassUID / MediaStorageSOPInstanceUID / TransferSyntaxUID.
    The group is always Explicit VR Little Endian, so a tiny reader is enough and
    avoids parsing the data set.
    """
    if len(data) < 132 or data[128:132] != b"DICM":
        raise ProtocolError("a WADO-RS part is not a DICOM Part 10 file (no 'DICM' prefix)")
    # the group only: no copy of a whole part for the UIDs
    view = memoryview(data)[: min(len(data), 1 << 16)].tobytes()
    pos = 132
    found: dict[str, str] = {}
    unpack = _ELEMENT.unpack_from
    while pos + 8 <= len(view):
        group, elem, vr, length = unpack(view, pos)
        if group != 0x0002:
            break
        if vr in _LONG_VRS:
            (length,) = struct.unpack_from("<I", view, pos + 8)
            start = pos + 12
        else:
            start = pos + 8
        name = _META_NAMES.get(elem)
        if name is not None:
            found[name] = view[start : start + length].decode("ascii", "replace").strip("\x00 ")
        pos = start + length
    if "MediaStorageSOPInstanceUID" not in found or "TransferSyntaxUID" not in found:
        raise ProtocolError(
            "a WADO-RS part has no SOP Instance UID or transfer syntax in its File Meta"
        )
    return found


def iter_multipart(chunks: Iterable[bytes], content_type: str) -> Iterator[bytes]:
    """Split a ``multipart/related`` body (RFC 2387/2046) into part bodies, streaming."""
    boundary = _boundary(content_type)
    delim = b"\r\n--" + boundary
    buf = bytearray()
    it = iter(chunks)
    # Preamble: up to the first "--boundary" line.
    first = b"--" + boundary
    while True:
        idx = buf.find(first)
        if idx >= 0:
            del buf[: idx + len(first)]
            break
        chunk = next(it, None)
        if chunk is None:
            raise ProtocolError("multipart response without any part")
        buf += chunk
    while True:
        # After a delimiter: "--" ends the body, else CRLF then headers.
        while len(buf) < 2:
            chunk = next(it, None)
            if chunk is None:
                raise ProtocolError("multipart response truncated after a boundary")
            buf += chunk
        if buf[:2] == b"--":
            return
        head_end = buf.find(b"\r\n\r\n")
        while head_end < 0:
            chunk = next(it, None)
            if chunk is None:
                raise ProtocolError("multipart response truncated in part headers")
            buf += chunk
            head_end = buf.find(b"\r\n\r\n")
        del buf[: head_end + 4]
        search_from = 0
        while True:
            idx = buf.find(delim, search_from)
            if idx >= 0:
                with memoryview(buf) as view:
                    part = bytes(view[:idx])  # one copy (buf[:idx] would make two)
                yield part
                del buf[: idx + len(delim)]
                break
            search_from = max(0, len(buf) - len(delim))
            chunk = next(it, None)
            if chunk is None:
                raise ProtocolError("multipart response truncated in the middle of a part")
            buf += chunk


def _boundary(content_type: str) -> bytes:
    main, _, params = content_type.partition(";")
    if main.strip().lower() != "multipart/related":
        raise ProtocolError(f"expected multipart/related, got '{main.strip() or 'nothing'}'")
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip().strip('"').encode()
    raise ProtocolError("multipart/related response without a boundary")


class DicomWebClient:
    """QIDO-RS / WADO-RS towards one node; thread-safe (one httpx client per thread)."""

    def __init__(self, node: ArchiveNode) -> None:
        if node.protocol != "dicomweb":
            raise ValueError(f"{node.name} is not a DICOMweb node")
        self.node = node
        self.base = node.url.rstrip("/")
        self._local = threading.local()
        self._auth = self._make_auth()

    def _make_auth(self) -> httpx.Auth | None:
        node = self.node
        self._auth_header: str | None = None
        if node.auth == "basic" and node.username:
            password = node.secret(node.username)
            if password is None:
                raise AuthenticationFailed(
                    f"no password for '{node.username}' on archive '{node.name}' in the keyring"
                )
            token = base64.b64encode(f"{node.username}:{password}".encode()).decode("ascii")
            self._auth_header = f"Basic {token}"
            return httpx.BasicAuth(node.username, password)
        if node.auth == "bearer":
            token = node.secret("token")
            if token is None:
                raise AuthenticationFailed(
                    f"no bearer token for archive '{node.name}' in the keyring"
                )
            self._auth_header = f"Bearer {token}"
            return _BearerAuth(token)
        return None

    def _verify(self) -> ssl.SSLContext | bool:
        if not self.node.tls:
            return False  # plain HTTP: no TLS context to build (saves ~0.2 s per client)
        ctx = ssl.create_default_context(cafile=str(self.node.tls_ca) if self.node.tls_ca else None)
        if self.node.tls_cert:
            password = self.node.secret("tls-key") if self.node.tls_key else None
            ctx.load_cert_chain(
                str(self.node.tls_cert),
                str(self.node.tls_key) if self.node.tls_key else None,
                password,
            )
        return ctx

    @property
    def client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                auth=self._auth,
                timeout=httpx.Timeout(self.node.timeout),
                verify=self._verify(),
                headers={"User-Agent": "Regard"},
            )
            self._local.client = client
        return client

    # --- error mapping -----------------------------------------------------------

    def _where(self) -> str:
        return f"archive '{self.node.name}' ({self.base})"

    def _check(self, resp: httpx.Response, what: str) -> None:
        if resp.status_code in (401, 403):
            raise AuthenticationFailed(
                f"{self._where()} refused {what}: HTTP {resp.status_code} "
                "(wrong user name, password or token)"
            )
        if resp.status_code == 404:
            raise ArchiveError(f"{self._where()}: {what}: not found (HTTP 404)")
        if resp.status_code >= 400:
            raise ArchiveError(f"{self._where()}: {what} failed with HTTP {resp.status_code}")

    def _request_errors(self, exc: httpx.HTTPError, what: str) -> ArchiveError:
        if isinstance(exc, httpx.ConnectTimeout):
            return ArchiveUnreachable(
                f"{self._where()} is unreachable: no answer within {self.node.timeout:.0f} s"
            )
        if isinstance(exc, httpx.ConnectError):
            if "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper():
                return AuthenticationFailed(f"{self._where()}: TLS certificate refused: {exc}")
            return ArchiveUnreachable(f"{self._where()} is unreachable: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            return ArchiveTimeout(
                f"{self._where()} did not answer {what} within {self.node.timeout:.0f} s"
            )
        return ProtocolError(f"{self._where()}: {what}: {type(exc).__name__}: {exc}")

    # --- QIDO-RS -----------------------------------------------------------------

    def echo(self) -> None:
        """Reachability check: a QIDO-RS study search limited to one result."""
        self._qido("/studies", {"limit": "1"}, "a test search")

    def search(self, level: str, keys: Mapping[str, Any]) -> list[dict[str, Any]]:
        """QIDO-RS search (PS3.18 10.6) at patient, study, series or image level."""
        params: dict[str, Any] = {}
        for keyword, value in keys.items():
            if value is None or value == "":
                continue
            params[keyword] = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
        study = params.pop("StudyInstanceUID", None) if level in ("series", "image") else None
        series = params.pop("SeriesInstanceUID", None) if level == "image" else None
        if level == "patient":
            params["includefield"] = ",".join(_PATIENT_KEYS)
            studies = self._qido("/studies", params, "a patient search")
            return _unique_patients(studies)
        if level == "study":
            path = "/studies"
        elif level == "series":
            path = f"/studies/{study}/series" if study else "/series"
        elif level == "image":
            if study and series:
                path = f"/studies/{study}/series/{series}/instances"
            elif study:
                path = f"/studies/{study}/instances"
            else:
                path = "/instances"
        else:
            raise ValueError(f"unknown query level '{level}'")
        params["includefield"] = ",".join(INCLUDE_FIELDS[level])
        results = self._qido(path, params, f"a {level} search")
        for item in results:
            if study:
                item.setdefault("StudyInstanceUID", study)
            if series:
                item.setdefault("SeriesInstanceUID", series)
        return results

    def _qido(self, path: str, params: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        try:
            resp = self.client.get(
                self.base + path + _query_string(params),
                headers={"Accept": "application/dicom+json"},
            )
        except httpx.HTTPError as exc:
            raise self._request_errors(exc, what) from exc
        self._check(resp, what)
        if resp.status_code == 204 or not resp.content:
            return []
        try:
            items = resp.json()
        except ValueError as exc:
            raise ProtocolError(f"{self._where()}: {what}: the answer is not DICOM JSON") from exc
        if not isinstance(items, list):
            raise ProtocolError(
                f"{self._where()}: {what}: the answer is not a list of DICOM JSON objects"
            )
        return [dicom_json_to_dict(item) for item in items if isinstance(item, dict)]

    # --- WADO-RS -----------------------------------------------------------------

    def retrieve(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uid: str | None = None,
        on_part: Callable[[Any, dict[str, str]], None] | None = None,
        cancel: threading.Event | None = None,
        on_bytes: Callable[[int], None] | None = None,
        live_parts: bool = False,
        sent: socket.socket | None = None,
    ) -> int:
        """WADO-RS retrieve of a study, series or instance (PS3.18 10.4.1.1.1); streams parts
        to ``on_part(part10_bytes, file_meta)`` as they arrive; returns the number of parts.

        With ``live_parts`` a part may instead be a :class:`~viewer.archive.fastweb.PipedPart`
        whose body waits in a kernel pipe: write it to a file with ``write_to(fd)`` (or
        ``read()`` it), once; dropped unwritten, it closes its pipe. ``sent``: the request
        already sent by :meth:`send_retrieve` for this path.
        """
        path = f"/studies/{study_uid}"
        if series_uid:
            path += f"/series/{series_uid}"
            if sop_uid:
                path += f"/instances/{sop_uid}"
        what = "a retrieve"
        count = 0
        if self._fast() or sent is not None:
            try:
                return self._fast_retrieve(path, on_part, cancel, on_bytes, live_parts, sent)
            except FallBack:
                log.debug("WADO-RS answer needs the general reader, asking again")
        try:
            with self.client.stream(
                "GET", self.base + path, headers={"Accept": ACCEPT_DICOM}
            ) as resp:
                self._check(resp, what)
                ctype = resp.headers.get("content-type", "")

                def chunks() -> Iterator[bytes]:
                    for chunk in resp.iter_raw():  # as received: no re-chunking copy
                        if cancel is not None and cancel.is_set():
                            raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
                        if on_bytes is not None:
                            on_bytes(len(chunk))
                        yield chunk

                for part in iter_multipart(chunks(), ctype):
                    meta = part10_meta(part)
                    if on_part is not None:
                        on_part(part, meta)
                    count += 1
        except httpx.HTTPError as exc:
            raise self._request_errors(exc, what) from exc
        except ProtocolError as exc:
            raise ProtocolError(f"{self._where()}: {what}: {exc}") from exc
        return count

    def _fast_retrieve(
        self,
        path: str,
        on_part: Callable[[Any, dict[str, str]], None] | None,
        cancel: threading.Event | None,
        on_bytes: Callable[[int], None] | None,
        live: bool = False,
        sent: socket.socket | None = None,
    ) -> int:
        headers, tls = self._fast_request()
        count = 0
        try:
            for part in stream_parts(
                self.base + path,
                headers,
                self.node.timeout,
                self._where(),
                tls,
                cancel,
                live,
                sent,
            ):
                meta = part10_meta(part.head if isinstance(part, PipedPart) else part)
                if on_bytes is not None:
                    on_bytes(len(part))
                if on_part is not None:
                    on_part(part, meta)
                count += 1
        except ProtocolError as exc:
            if str(exc).startswith(self._where()):
                raise
            raise ProtocolError(f"{self._where()}: a retrieve: {exc}") from exc
        return count

    def _fast(self) -> bool:
        return bool(self.node.options.get("engine", "fast") == "fast")

    def _fast_request(self) -> tuple[dict[str, str], ssl.SSLContext | None]:
        headers = {"Accept": ACCEPT_DICOM, "User-Agent": "Regard"}
        if self._auth_header:
            headers["Authorization"] = self._auth_header
        verify = self._verify()
        return headers, verify if isinstance(verify, ssl.SSLContext) else None

    def send_retrieve(self, study_uid: str, series_uid: str) -> socket.socket | None:
        """Send the WADO-RS retrieve of a series now, to be read later by :meth:`retrieve`
        (``sent=``): the archive prepares its answer meanwhile. Raises what makes the
        archive unusable (unreachable, certificate refused: no second wait for the same
        answer); None when the request was lost otherwise (the retrieve asks again)."""
        if not self._fast():
            return None
        headers, tls = self._fast_request()
        url = f"{self.base}/studies/{study_uid}/series/{series_uid}"
        try:
            return send_get(url, headers, self.node.timeout, self._where(), tls)
        except (ArchiveUnreachable, AuthenticationFailed):
            raise
        except ArchiveError:
            return None

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None


def _query_string(params: Mapping[str, Any]) -> str:
    """``?key=value&...`` keeping ``*``, ``?``, ``^``, ``,`` and ``-`` as they are.

    PS3.18 8.3.4 matching values carry wildcards and PN component separators; some
    archives (Orthanc 1.10) do not percent-decode them, so only what would break the
    URL is encoded.
    """
    if not params:
        return ""
    safe = "*?^,-.:_~"
    return "?" + "&".join(
        f"{quote(str(k), safe=safe)}={quote(str(v), safe=safe)}" for k, v in params.items()
    )


class _BearerAuth(httpx.Auth):
    """OAuth 2.0 bearer token (RFC 6750) as DICOMweb over HTTPS expects (PS3.18 8.11)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = self._header
        yield request


def _unique_patients(studies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for study in studies:
        key = (str(study.get("PatientID", "")), str(study.get("IssuerOfPatientID", "")))
        if key not in seen:
            seen[key] = {k: study.get(k, "") for k in _PATIENT_KEYS}
    return list(seen.values())
