"""DIMSE client (pynetdicom): C-ECHO, C-FIND, C-GET and C-MOVE, optionally over TLS.

Speed matters more than pynetdicom's defaults give (PLATFORM.md):

* Nagle's algorithm is switched off on every association socket (``TCP_NODELAY``):
  a C-FIND round trip costs ~5 ms instead of ~48 ms on loopback.
* We advertise an unlimited maximum PDU length (``associate(max_pdu=0)``,
  PS3.8 D.3.3.1) so the archive sends few, large PDUs; the per-message cost of
  pynetdicom dominates, not the bytes.
* Received C-STORE data sets are written as they came (``encoded_dataset``),
  never decoded: same SOP Instance UID, same transfer syntax, same bytes.
* Storage presentation contexts are proposed one per transfer syntax so that the
  archive picks the syntax it stores instead of transcoding (PS3.8 Annex B,
  PS3.4 C.4.3.1 on C-GET sub-operations).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from viewer.archive.errors import (
    ArchiveError,
    ArchiveTimeout,
    ArchiveUnreachable,
    AssociationRejected,
    AuthenticationFailed,
    ProtocolError,
    RetrieveCancelled,
)
from viewer.archive.nodes import ArchiveNode, LocalAE

log = logging.getLogger(__name__)

VERIFICATION = "1.2.840.10008.1.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"
PATIENT_ROOT_GET = "1.2.840.10008.5.1.4.1.2.1.3"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

#: Transfer syntaxes proposed for storage, lossless first (PS3.5 Annex A, 10).
STORAGE_SYNTAXES: tuple[str, ...] = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired)
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.203",  # HTJ2K
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
)
_MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255

#: Return keys asked for by default at each query level (PS3.4 C.6.1.1 / C.6.2.1).
RETURN_KEYS: dict[str, tuple[str, ...]] = {
    "patient": (
        "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
        "NumberOfPatientRelatedStudies",
    ),
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
LEVELS = {"patient": "PATIENT", "study": "STUDY", "series": "SERIES", "image": "IMAGE"}
_REQUIRED_PARENT_KEYS = {
    "series": ("StudyInstanceUID",),
    "image": ("StudyInstanceUID", "SeriesInstanceUID"),
}


@dataclass(frozen=True)
class ReceivedInstance:
    """One instance as the archive sent it (never decoded here)."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    file_meta: bytes  # preamble + 'DICM' + encoded File Meta Information (PS3.10 7.1)
    dataset: bytes  # the data set exactly as received (or empty, see ``chunks``)
    chunks: list[Any] | None = None  # the data set as received fragments (no copy)

    def parts(self) -> list[Any]:
        """The Part 10 file as a list of byte chunks, in order."""
        return [self.file_meta, *(self.chunks if self.chunks is not None else [self.dataset])]


#: Called for each received instance; returns normally to acknowledge it (status 0x0000),
#: raises to refuse it (status 0xA700 "out of resources", the archive then reports a failure).
InstanceSink = Callable[[ReceivedInstance], None]


def build_identifier(
    level: str, keys: Mapping[str, Any], return_keys: Iterable[str] = ()
) -> Dataset:
    """A C-FIND/C-GET/C-MOVE identifier (PS3.4 C.4.1.1.3): matching keys then empty return keys.

    Values follow PS3.4 C.2.2.2: ``*``/``?`` wildcards, ``A-B`` date/time ranges,
    backslash-separated UID lists; a list or tuple becomes a multi-valued element.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown query level '{level}' (patient, study, series or image)")
    ds = Dataset()
    ds.QueryRetrieveLevel = LEVELS[level]
    for keyword, value in keys.items():
        if value is None:
            continue
        if keyword.endswith("UID") and isinstance(value, str) and ("*" in value or "?" in value):
            raise ValueError(f"{keyword}: UIDs are matched exactly or by list, not with wildcards "
                             "(PS3.4 C.2.2.2.2)")  # fmt: skip
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # bad values are reported below, not warned
                setattr(ds, keyword, list(value) if isinstance(value, (list, tuple)) else value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"bad value for {keyword}: {exc}") from exc
        if keyword not in ds:
            raise ValueError(f"'{keyword}' is not a DICOM keyword")
    for keyword in return_keys:
        if keyword not in ds:
            setattr(ds, keyword, None)
    return ds


_NOT_RETURNED = ("QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle")


def dataset_to_dict(ds: Dataset) -> dict[str, Any]:
    """DICOM keyword -> str (or list of str for multi-valued elements), sequences skipped."""
    out: dict[str, Any] = {}
    for elem in ds:
        keyword = elem.keyword
        if not keyword or elem.VR == "SQ" or keyword in _NOT_RETURNED:
            continue
        value = elem.value
        if value is None or value == "":
            out[keyword] = ""
        elif isinstance(value, MultiValue):
            out[keyword] = [str(v) for v in value]
        elif isinstance(value, bytes):
            continue
        else:
            out[keyword] = str(value)
    return out


def _tls_context(node: ArchiveNode) -> ssl.SSLContext:
    """Client TLS context verifying the archive's certificate and host name (BCP 195, TLS 1.2+)."""
    ctx = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(node.tls_ca) if node.tls_ca else None
    )
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if node.tls_cert:
        password = node.secret("tls-key") if node.tls_key else None
        try:
            ctx.load_cert_chain(
                str(node.tls_cert), str(node.tls_key) if node.tls_key else None, password
            )
        except (OSError, ssl.SSLError) as exc:
            raise AuthenticationFailed(
                f"{node.name}: cannot load our TLS certificate: {exc}"
            ) from exc
    return ctx


def _tune_pynetdicom() -> None:
    """Remove pynetdicom's per-message costs that do not depend on the bytes.

    * it formats every identifier for its log even with logging off (~0.45 ms per C-FIND
      match: a third of the client time of a 600-match query);
    * its standard handlers log every PDU and DIMSE message;
    * its reactor polls with sleeps: see :mod:`viewer.archive._pynetdicom_speed`.
    """
    from pynetdicom import _config

    from viewer.archive import _pynetdicom_speed

    _pynetdicom_speed.install()

    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_REQUEST_IDENTIFIERS = False
    if not logging.getLogger("pynetdicom").isEnabledFor(logging.DEBUG):
        # No per-PDU / per-message logging handlers (they format every message).
        _config.LOG_HANDLER_LEVEL = "none"


def _nodelay(event: Any) -> None:
    """EVT_CONN_OPEN: disable Nagle and the reactor's idle sleep on this association.

    Also puts the network timeout back on the socket: pynetdicom 3 clears it after
    connecting (``settimeout(None)``), so a peer that announces a PDU and never sends
    it would block the reader thread forever.
    """
    sock = event.assoc.dul.socket.socket
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(event.assoc.network_timeout)
    event.assoc.dul._run_loop_delay = 0.0001


class _Diagnostics:
    """Collects what happened while an association was being set up."""

    def __init__(self) -> None:
        self.connected = False
        self.reject: str | None = None
        self.accepted = False  # an A-ASSOCIATE-AC came back

    def handlers(self) -> list[tuple[Any, Callable[..., Any]]]:
        from pynetdicom import evt

        def conn_open(event: Any) -> None:
            self.connected = True
            _nodelay(event)

        def pdu_recv(event: Any) -> None:
            # The A-ASSOCIATE-RJ PDU itself: the peer may close the connection right after
            # it, and pynetdicom then sometimes reports an abort instead of a rejection.
            pdu = event.pdu
            if type(pdu).__name__ == "A_ASSOCIATE_RJ":
                self.reject = f"{pdu.result_str}: {pdu.reason_str} ({pdu.source_str})"

        def acse_recv(event: Any) -> None:
            primitive = event.primitive
            if getattr(primitive, "result", None) == 0x00:
                self.accepted = True
            if getattr(primitive, "result", None) in (0x01, 0x02):
                self.reject = (
                    f"{primitive.result_str}: {primitive.reason_str} ({primitive.source_str})"
                )

        self.pdu_handler = pdu_recv
        return [
            (evt.EVT_CONN_OPEN, conn_open),
            (evt.EVT_ACSE_RECV, acse_recv),
            (evt.EVT_PDU_RECV, pdu_recv),
        ]


class DimseClient:
    """A DICOM requestor towards one archive node; each call opens its own association."""

    def __init__(self, node: ArchiveNode, local: LocalAE) -> None:
        if node.protocol != "dimse":
            raise ValueError(f"{node.name} is not a DIMSE node")
        self.node = node
        self.local = local

    # --- association -------------------------------------------------------------

    def _ae(self) -> Any:
        from pynetdicom import AE

        _tune_pynetdicom()

        ae = AE(ae_title=self.local.ae_title)
        timeout = self.node.timeout
        ae.acse_timeout = timeout
        ae.dimse_timeout = timeout
        ae.network_timeout = timeout
        ae.connection_timeout = timeout
        ae.maximum_pdu_size = 0
        return ae

    def _associate(
        self,
        ae: Any,
        ext_neg: Sequence[Any] = (),
        handlers: Sequence[tuple[Any, Callable[..., Any]]] = (),
    ) -> Any:
        diag = _Diagnostics()
        tls_args = None
        if self.node.tls:
            tls_args = (_tls_context(self.node), self.node.host)
        assoc = ae.associate(
            self.node.host,
            self.node.port,
            ae_title=self.node.ae_title,
            max_pdu=0,
            ext_neg=list(ext_neg) or None,
            evt_handlers=[*diag.handlers(), *handlers],
            tls_args=tls_args,
        )
        if assoc.is_established:
            from pynetdicom import evt

            assoc.unbind(evt.EVT_PDU_RECV, diag.pdu_handler)  # no per-PDU cost afterwards
            return assoc
        self._raise_setup_failure(assoc, diag)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_setup_failure(self, assoc: Any, diag: _Diagnostics) -> None:
        where = f"archive '{self.node.name}' ({self.node.host}:{self.node.port})"
        if assoc.is_rejected or diag.reject:
            raise AssociationRejected(
                f"{where} rejected the association (called AE title '{self.node.ae_title}', "
                f"calling AE title '{self.local.ae_title}'): {diag.reject or 'no reason given'}"
            )
        if not diag.connected:
            reason = _connect_error(self.node.host, self.node.port, self.node.timeout)
            if self.node.tls and reason == "connected":
                raise AuthenticationFailed(
                    f"{where}: TLS handshake failed (certificate not trusted, wrong host name, "
                    "or our certificate refused)"
                )
            raise ArchiveUnreachable(f"{where} is unreachable: {reason}")
        if diag.accepted and not assoc.accepted_contexts:
            raise ArchiveError(f"{where} accepted none of the proposed presentation contexts")
        if not diag.accepted and self.node.tls:
            raise AuthenticationFailed(
                f"{where} closed the TLS connection without answering: our certificate was "
                "refused (or the port does not speak DICOM TLS)"
            )
        if not diag.accepted and assoc.is_aborted:
            raise ProtocolError(
                f"{where} closed the connection without a valid answer to the association "
                "request (not a DICOM port, or it expects TLS: use dicoms://)"
            )
        raise ProtocolError(
            f"{where} did not complete the association (aborted or invalid answer within "
            f"{self.node.timeout:.0f} s)"
        )

    # --- C-ECHO ------------------------------------------------------------------

    def echo(self) -> None:
        """C-ECHO (PS3.7 9.1.5); raises :class:`ArchiveError` unless status is Success."""
        ae = self._ae()
        ae.add_requested_context(VERIFICATION)
        assoc = self._associate(ae)
        try:
            status = assoc.send_c_echo()
        finally:
            _release(assoc)
        self._check_final(status, "C-ECHO")

    # --- C-FIND ------------------------------------------------------------------

    def find(
        self,
        level: str,
        keys: Mapping[str, Any],
        return_keys: Iterable[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[dict[str, Any]]:
        """C-FIND at ``level`` (PS3.4 C.4.1); returns one dict per match keyed by keyword."""
        return [dataset_to_dict(ds) for ds in self.find_datasets(level, keys, return_keys, cancel)]

    def find_datasets(
        self,
        level: str,
        keys: Mapping[str, Any],
        return_keys: Iterable[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Dataset]:
        wanted = RETURN_KEYS[level] if return_keys is None else tuple(return_keys)
        return list(self.fast_find_iter(level, keys, wanted, cancel))

    def fast_find_iter(
        self,
        level: str,
        keys: Mapping[str, Any],
        return_keys: Iterable[str],
        cancel: threading.Event | None = None,
    ) -> Iterator[Dataset]:
        """:meth:`find_iter` through :mod:`viewer.archive.fastget` (one thread, no
        reactor): used for long image-level listings while C-GETs run in parallel."""
        from io import BytesIO

        from pydicom.filereader import read_dataset
        from pynetdicom.dsutils import encode

        from viewer.archive.fastget import FastGet

        if self.node.options.get("engine", "fast") != "fast":
            yield from self.find_iter(level, keys, return_keys, cancel)
            return
        for parent in _REQUIRED_PARENT_KEYS.get(level, ()):
            if not keys.get(parent):
                raise ValueError(f"a {level}-level query needs {parent} (hierarchical query)")
        tls = _tls_context(self.node) if self.node.tls else None
        identifier = build_identifier(level, keys, return_keys)
        model = PATIENT_ROOT_FIND if level == "patient" else STUDY_ROOT_FIND
        try:
            with FastGet(self.node, self.local, (), (), model, None, cancel, tls) as assoc:
                implicit = UID(assoc.get_syntax).is_implicit_VR
                encoded = encode(identifier, implicit, True)
                if encoded is None:
                    raise ValueError("cannot encode the C-FIND identifier")
                for raw in assoc.find(encoded):
                    yield read_dataset(BytesIO(raw), implicit, True)
        except ArchiveTimeout as exc:
            raise ArchiveTimeout(
                f"archive '{self.node.name}' did not answer the C-FIND within "
                f"{self.node.timeout:.0f} s (it may not know our AE title '{self.local.ae_title}')"
            ) from exc

    def find_iter(
        self,
        level: str,
        keys: Mapping[str, Any],
        return_keys: Iterable[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Dataset]:
        """C-FIND yielding each match as it arrives (archives stream their pending
        responses, PS3.4 C.4.1.3.1: the first of 600 comes after ~40 ms, the last ~0.3 s)."""
        for parent in _REQUIRED_PARENT_KEYS.get(level, ()):
            if not keys.get(parent):
                raise ValueError(f"a {level}-level query needs {parent} (hierarchical query)")
        wanted = RETURN_KEYS[level] if return_keys is None else tuple(return_keys)
        identifier = build_identifier(level, keys, wanted)
        model = PATIENT_ROOT_FIND if level == "patient" else STUDY_ROOT_FIND
        ae = self._ae()
        ae.add_requested_context(model, list(STORAGE_SYNTAXES[:2]))
        assoc = self._associate(ae)
        try:
            msg_id = 1
            for status, found in assoc.send_c_find(identifier, model, msg_id=msg_id):
                if cancel is not None and cancel.is_set():
                    assoc.send_c_cancel(msg_id, query_model=model)
                    raise RetrieveCancelled(f"query to '{self.node.name}' cancelled")
                code = getattr(status, "Status", None)
                if code in (0xFF00, 0xFF01):
                    if found is not None:
                        yield found
                    continue
                self._check_final(status, "C-FIND")
        finally:
            _release(assoc)

    # --- C-GET / C-MOVE ------------------------------------------------------------

    def get(
        self,
        level: str,
        keys: Mapping[str, Any],
        sop_classes: Iterable[str],
        sink: InstanceSink,
        cancel: threading.Event | None = None,
        on_pending: Callable[[Dataset], None] | None = None,
    ) -> None:
        """C-GET (PS3.4 C.4.3): the archive sends the instances back on this association.

        ``sop_classes`` are the storage SOP classes to accept (with SCP role selection,
        PS3.7 D.3.3.4), each proposed once per transfer syntax.
        """
        with self.session("get", sop_classes, sink, cancel) as session:
            session.fetch(level, keys, on_pending)

    def session(
        self,
        method: str,
        sop_classes: Iterable[str] = (),
        sink: InstanceSink | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveSession | FastRetrieveSession:
        """One association for several C-GETs (``"get"``) or C-MOVEs (``"move"``) in a row.

        C-GETs use :mod:`viewer.archive.fastget` unless the node sets ``engine = "pynetdicom"``.
        """
        classes = sorted(set(sop_classes))
        if method == "get" and self.node.options.get("engine", "fast") == "fast":
            return FastRetrieveSession(self, classes, sink, cancel)
        return RetrieveSession(self, method, classes, sink, cancel)

    def _open_retrieve(
        self, method: str, sop_classes: list[str], sink: InstanceSink | None, cancel: Any
    ) -> Any:
        from pynetdicom import build_role, evt

        ae = self._ae()
        if method == "move":
            ae.add_requested_context(STUDY_ROOT_MOVE, list(STORAGE_SYNTAXES[:2]))
            return self._associate(ae)
        if sink is None:
            raise ValueError("a C-GET needs a sink for the instances")
        ae.add_requested_context(STUDY_ROOT_GET, list(STORAGE_SYNTAXES[:2]))
        classes = _add_storage_contexts(ae, sop_classes, room=_MAX_CONTEXTS - 1)
        roles = [build_role(uid, scp_role=True) for uid in classes]
        handler = _store_handler(sink, cancel)
        return self._associate(ae, ext_neg=roles, handlers=[(evt.EVT_C_STORE, handler)])

    def move(
        self,
        level: str,
        keys: Mapping[str, Any],
        cancel: threading.Event | None = None,
        on_pending: Callable[[Dataset], None] | None = None,
    ) -> None:
        """C-MOVE (PS3.4 C.4.2) to our AE title; a :class:`StorageSCP` must be listening."""
        with self.session("move", cancel=cancel) as session:
            session.fetch(level, keys, on_pending)

    def _run_retrieve(
        self,
        assoc: Any,
        responses: Iterator[tuple[Dataset, Dataset | None]],
        what: str,
        cancel: threading.Event | None,
        on_pending: Callable[[Dataset], None] | None,
    ) -> None:
        for status, _ in responses:
            if cancel is not None and cancel.is_set():
                assoc.abort()
                raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
            code = getattr(status, "Status", None)
            if code == 0xFF00:
                if on_pending is not None:
                    on_pending(status)
                continue
            self._check_final(status, what, allow_warning=True)
        if cancel is not None and cancel.is_set():
            raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")

    # --- statuses ----------------------------------------------------------------

    def _check_final(self, status: Dataset, what: str, allow_warning: bool = False) -> None:
        """Raise unless ``status`` is Success (or Warning when allowed), PS3.7 C.1-C.4."""
        code = getattr(status, "Status", None)
        name = f"archive '{self.node.name}'"
        if code is None:
            raise ArchiveTimeout(
                f"{name} did not answer the {what} within {self.node.timeout:.0f} s or dropped "
                f"the connection (it may not know our AE title '{self.local.ae_title}')"
            )
        if code == 0x0000:
            return
        if allow_warning and code == 0xB000:
            failed = getattr(status, "NumberOfFailedSuboperations", 0)
            raise ArchiveError(
                f"{name}: {what} finished with {failed} failed sub-operations (0xB000)"
            )
        if code == 0xFE00:
            raise RetrieveCancelled(f"{name}: {what} cancelled")
        comment = getattr(status, "ErrorComment", "") or ""
        raise ArchiveError(
            f"{name}: {what} failed with status 0x{code:04X} {_status_text(code)} {comment}".strip()
        )


class RetrieveSession:
    """An open association for C-GETs or C-MOVEs (``with client.session(...) as s``)."""

    def __init__(
        self,
        client: DimseClient,
        method: str,
        sop_classes: list[str],
        sink: InstanceSink | None,
        cancel: threading.Event | None,
    ) -> None:
        self.client = client
        self.method = method
        self.sop_classes = sop_classes
        self.sink = sink
        self.cancel = cancel
        self.assoc: Any = None

    def __enter__(self) -> RetrieveSession:
        self.assoc = self.client._open_retrieve(
            self.method, self.sop_classes, self.sink, self.cancel
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.assoc is not None:
            _release(self.assoc)
            self.assoc = None

    def fetch(
        self,
        level: str,
        keys: Mapping[str, Any],
        on_pending: Callable[[Dataset], None] | None = None,
    ) -> None:
        """One C-GET or C-MOVE on this association; raises unless it fully succeeds."""
        identifier = build_identifier(level, keys)
        if self.method == "move":
            move_aet = self.client.local.ae_title
            responses = self.assoc.send_c_move(identifier, move_aet, STUDY_ROOT_MOVE)
            what = "C-MOVE"
        else:
            responses = self.assoc.send_c_get(identifier, STUDY_ROOT_GET)
            what = "C-GET"
        self.client._run_retrieve(self.assoc, responses, what, self.cancel, on_pending)


class FastRetrieveSession:
    """C-GETs on one association driven by :class:`viewer.archive.fastget.FastGet`."""

    def __init__(
        self,
        client: DimseClient,
        sop_classes: list[str],
        sink: InstanceSink | None,
        cancel: threading.Event | None,
    ) -> None:
        from viewer.archive.fastget import FastGet

        if sink is None:
            raise ValueError("a C-GET needs a sink for the instances")
        room = _MAX_CONTEXTS - 1
        per_class = max(1, min(len(STORAGE_SYNTAXES), room // max(1, len(sop_classes))))
        tls = _tls_context(client.node) if client.node.tls else None
        self.get = FastGet(
            client.node,
            client.local,
            sop_classes,
            STORAGE_SYNTAXES[:per_class],
            STUDY_ROOT_GET,
            sink,
            cancel,
            tls,
        )

    def __enter__(self) -> FastRetrieveSession:
        self.get.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.get.__exit__(*exc)

    def fetch(
        self,
        level: str,
        keys: Mapping[str, Any],
        on_pending: Callable[[Dataset], None] | None = None,
    ) -> None:
        from pynetdicom.dsutils import encode

        syntax = UID(self.get.get_syntax)
        identifier = encode(build_identifier(level, keys), syntax.is_implicit_VR, True)
        if identifier is None:
            raise ValueError("cannot encode the C-GET identifier")
        self.get.fetch(identifier)


def _status_text(code: int) -> str:
    known = {
        0xA700: "(out of resources)",
        0xA701: "(out of resources: cannot calculate number of matches)",
        0xA702: "(out of resources: unable to perform sub-operations)",
        0xA801: "(move destination unknown)",
        0xA900: "(identifier does not match SOP class)",
        0xC000: "(unable to process)",
        0x0122: "(SOP class not supported)",
        0x0124: "(not authorized)",
    }
    return known.get(code, "")


def _release(assoc: Any) -> None:
    if assoc.is_established:
        try:
            assoc.release()
        except Exception:  # pragma: no cover - peer vanished
            assoc.abort()


def _connect_error(host: str, port: int, timeout: float) -> str:
    """Why a TCP connection fails (only called once pynetdicom already failed)."""
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 5.0)):
            return "connected"
    except TimeoutError:
        return f"no answer within {min(timeout, 5.0):.0f} s"
    except OSError as exc:
        return exc.strerror or str(exc)


def _add_storage_contexts(ae: Any, sop_classes: Sequence[str], room: int) -> list[str]:
    """Propose each SOP class once per transfer syntax, as many syntaxes as fit in ``room``."""
    if not sop_classes:
        return []
    if len(sop_classes) > room:
        raise ArchiveError(f"too many SOP classes ({len(sop_classes)}) for one association")
    per_class = max(1, min(len(STORAGE_SYNTAXES), room // len(sop_classes)))
    syntaxes = STORAGE_SYNTAXES[:per_class]  # ordered: the most common syntaxes first
    for uid in sop_classes:
        for ts in syntaxes:
            ae.add_requested_context(uid, [ts])
    return list(sop_classes)


IMPLEMENTATION_VERSION_NAME = "REGARD_01"


def _element(element: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element of group 0002 (PS3.5 7.1.2)."""
    if vr in (b"OB", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", 0x0002, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def _text(value: str, pad: bytes) -> bytes:
    raw = value.encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def encode_file_meta(sop_class: str, sop_uid: str, syntax: str, source_aet: str = "") -> bytes:
    """Preamble, 'DICM' and File Meta Information (PS3.10 7.1) for a received data set."""
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

    body = b"".join(
        [
            _element(0x0001, b"OB", b"\x00\x01"),
            _element(0x0002, b"UI", _text(sop_class, b"\x00")),
            _element(0x0003, b"UI", _text(sop_uid, b"\x00")),
            _element(0x0010, b"UI", _text(syntax, b"\x00")),
            _element(0x0012, b"UI", _text(str(PYDICOM_IMPLEMENTATION_UID), b"\x00")),
            _element(0x0013, b"SH", _text(IMPLEMENTATION_VERSION_NAME, b" ")),
        ]
        + ([_element(0x0016, b"AE", _text(source_aet.strip(), b" "))] if source_aet.strip() else [])
    )
    group_length = struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body))
    return b"\x00" * 128 + b"DICM" + group_length + body


def _store_handler(sink: InstanceSink, cancel: threading.Event | None) -> Callable[[Any], int]:
    """EVT_C_STORE handler writing the data set as received (PS3.4 B.2.3 statuses).

    Nothing is decoded: the File Meta Information is built from the C-STORE request
    and the presentation context, the data set bytes are kept as they came.
    """

    def handle(event: Any) -> int:
        if cancel is not None and cancel.is_set():
            return 0xA700
        request = event.request
        sop_class = str(request.AffectedSOPClassUID)
        sop_uid = str(request.AffectedSOPInstanceUID)
        syntax = str(event.context.transfer_syntax)
        source = (
            event.assoc.requestor.ae_title
            if event.assoc.is_acceptor
            else event.assoc.acceptor.ae_title
        )
        received = ReceivedInstance(
            sop_class_uid=sop_class,
            sop_instance_uid=sop_uid,
            transfer_syntax_uid=syntax,
            file_meta=encode_file_meta(sop_class, sop_uid, syntax, source),
            dataset=request.DataSet.getvalue(),
        )
        try:
            sink(received)
        except Exception as exc:
            log.error("cannot store a received instance: %s", exc)
            return 0xA700
        return 0x0000

    return handle


class StorageSCP:
    """Our storage SCP, the destination of C-MOVE (PS3.4 B.2), routing to a sink.

    Use as a context manager around the C-MOVE. The archive must know our AE title,
    host and port (a "modality" entry in Orthanc's ``DicomModalities``).
    """

    def __init__(
        self, local: LocalAE, sink: InstanceSink, cancel: threading.Event | None = None
    ) -> None:
        self.local = local
        self.sink = sink
        self.cancel = cancel
        self._server: Any = None
        self.port = local.port

    def __enter__(self) -> StorageSCP:
        from pynetdicom import AE, evt
        from pynetdicom.presentation import AllStoragePresentationContexts
        from pynetdicom.sop_class import Verification

        _tune_pynetdicom()
        ae = AE(ae_title=self.local.ae_title)
        ae.maximum_pdu_size = 0
        ae.network_timeout = self.local.timeout
        ae.acse_timeout = self.local.timeout
        ae.dimse_timeout = self.local.timeout
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, list(STORAGE_SYNTAXES))
        ae.add_supported_context(Verification)
        ae.require_called_aet = True
        handlers = [
            (evt.EVT_C_STORE, _store_handler(self.sink, self.cancel)),
            (evt.EVT_CONN_OPEN, _nodelay),
        ]
        try:
            self._server = ae.start_server(
                ("", self.local.port), block=False, evt_handlers=handlers
            )
        except OSError as exc:
            raise ArchiveError(
                f"cannot listen on port {self.local.port} for C-MOVE: {exc}"
            ) from exc
        self.port = int(self._server.server_address[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


def uid_list(uids: Iterable[str]) -> list[str]:
    """A UID list matching value (PS3.4 C.2.2.2.2) as a list pydicom encodes with '\\'."""
    return [str(UID(u)) for u in uids]
