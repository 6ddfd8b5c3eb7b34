"""DICOMweb (QIDO-RS, WADO-RS) against Orthanc's DICOMweb plugin, and the multipart reader."""

from __future__ import annotations

from typing import Any

import pytest
from pydicom import dcmread

from tests.archive.conftest import INS, INS_ISSUER, MemoryKeyring, Seeded
from viewer.archive.cache import Cache
from viewer.archive.dicomweb import DicomWebClient, iter_multipart, part10_meta
from viewer.archive.dimse import DimseClient
from viewer.archive.errors import AuthenticationFailed, ProtocolError
from viewer.archive.nodes import KEYRING_SERVICE, LocalAE, parse_address
from viewer.archive.orthanc import start_orthanc
from viewer.archive.retrieve import Retriever

pytestmark = pytest.mark.integration


def _uids(rows: list[dict[str, Any]], key: str) -> set[str]:
    return {r[key] for r in rows}


@pytest.mark.parametrize(
    "keys",
    [
        {},
        {"PatientName": "DOE*"},
        {"StudyDate": "20170101-20221231"},
        {"ModalitiesInStudy": "CT"},
        {"PatientID": INS, "IssuerOfPatientID": INS_ISSUER},
    ],
)
def test_qido_finds_the_same_studies_as_c_find(
    dimse_node: Any, web_node: Any, local: LocalAE, keys: dict[str, str]
) -> None:
    web = DicomWebClient(web_node).search("study", keys)
    dimse = DimseClient(dimse_node, local).find("study", keys)
    assert web and _uids(web, "StudyInstanceUID") == _uids(dimse, "StudyInstanceUID")


def test_qido_series_and_instances(seeded: Seeded, web_node: Any) -> None:
    client = DicomWebClient(web_node)
    series = client.search("series", {"StudyInstanceUID": seeded.syntax_study})
    assert {r["SeriesInstanceUID"] for r in series} <= set(seeded.series)
    uid = series[0]["SeriesInstanceUID"]
    found = client.search(
        "image", {"StudyInstanceUID": seeded.syntax_study, "SeriesInstanceUID": uid}
    )
    assert _uids(found, "SOPInstanceUID") == set(seeded.series[uid])


def test_wado_retrieve_is_byte_identical(seeded: Seeded, web_node: Any, local: LocalAE) -> None:
    cache = Cache()
    result = Retriever(web_node, cache, local).retrieve(seeded.syntax_study)
    assert result.fetched == len(seeded.studies[seeded.syntax_study])
    for path in result.paths:
        got = dcmread(path)
        source = dcmread(seeded.source(str(got.SOPInstanceUID)))
        assert got.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
        assert got.PixelData == source.PixelData


@pytest.fixture(scope="module")
def auth_orthanc(tmp_path_factory: pytest.TempPathFactory):
    server = start_orthanc(tmp_path_factory.mktemp("orthanc-auth"), users={"alice": "s3cret"})
    yield server
    server.stop(graceful=False)


def test_basic_auth_password_comes_from_the_keyring(
    auth_orthanc: Any, memory_keyring: MemoryKeyring
) -> None:
    node = parse_address(auth_orthanc.web_address, name="secure", username="alice", timeout=5)
    memory_keyring.set_password(KEYRING_SERVICE, "secure:alice", "s3cret")
    DicomWebClient(node).echo()
    assert DicomWebClient(node).search("study", {}) == []


def test_wrong_password_is_refused_clearly(
    auth_orthanc: Any, memory_keyring: MemoryKeyring
) -> None:
    node = parse_address(auth_orthanc.web_address, name="secure", username="alice", timeout=5)
    memory_keyring.set_password(KEYRING_SERVICE, "secure:alice", "wrong")
    with pytest.raises(AuthenticationFailed, match="HTTP 401"):
        DicomWebClient(node).search("study", {})


def test_missing_password_is_reported(auth_orthanc: Any, memory_keyring: MemoryKeyring) -> None:
    node = parse_address(auth_orthanc.web_address, name="secure", username="alice", timeout=5)
    with pytest.raises(AuthenticationFailed, match="keyring"):
        DicomWebClient(node)


def _part10(sop: str) -> bytes:
    from io import BytesIO

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.SOPInstanceUID = sop
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


@pytest.mark.parametrize("chunk", [1, 7, 100, 1 << 20])
def test_multipart_parts_survive_any_chunking(chunk: int) -> None:
    parts = [_part10(f"1.2.3.{i}") for i in range(3)]
    body = b"preamble\r\n"
    for p in parts:
        body += b"--XyZ\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n"
    body += b"--XyZ--\r\n"
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    got = list(iter_multipart(chunks, 'multipart/related; type="application/dicom"; boundary=XyZ'))
    assert got == parts
    assert [part10_meta(p)["MediaStorageSOPInstanceUID"] for p in got] == [
        "1.2.3.0",
        "1.2.3.1",
        "1.2.3.2",
    ]


def test_truncated_or_foreign_answers_are_protocol_errors() -> None:
    part = _part10("1.2.3")
    body = b"--B\r\n\r\n" + part[:100]
    with pytest.raises(ProtocolError, match="truncated"):
        list(iter_multipart([body], "multipart/related; boundary=B"))
    with pytest.raises(ProtocolError, match="multipart/related"):
        list(iter_multipart([body], "text/html"))
    with pytest.raises(ProtocolError, match="DICM"):
        part10_meta(b"<html>not dicom</html>" * 10)


class _BearerOnly:
    """A small HTTP peer that answers QIDO-RS with [] only to ``Bearer good-token``."""

    def __init__(self) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ok = self.headers.get("Authorization") == "Bearer good-token"
                body = b"[]" if ok else b""
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/dicom+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_bearer_token_comes_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    peer = _BearerOnly()
    try:
        address = f"http://127.0.0.1:{peer.port}/dicom-web"
        node = parse_address(address, name="oauth", auth="bearer", timeout=5)
        with pytest.raises(AuthenticationFailed, match="token"):
            DicomWebClient(node)  # no token in the keyring yet
        memory_keyring.set_password(KEYRING_SERVICE, "oauth:token", "bad-token")
        with pytest.raises(AuthenticationFailed, match="HTTP 401"):
            DicomWebClient(node).search("study", {})
        memory_keyring.set_password(KEYRING_SERVICE, "oauth:token", "good-token")
        assert DicomWebClient(node).search("study", {}) == []
    finally:
        peer.close()


def test_stream_reuses_only_part_buffers_nobody_holds(seeded: Seeded) -> None:
    """The fast reader reuses a part's buffer once it is dropped, never one still held."""
    from io import BytesIO

    from viewer.archive.dicomweb import ACCEPT_DICOM
    from viewer.archive.fastweb import stream_parts

    series = max(seeded.series, key=lambda uid: len(seeded.series[uid]))
    study = next(s for s, sops in seeded.studies.items() if seeded.series[series][0] in sops)
    url = f"{seeded.server.web_address}/studies/{study}/series/{series}"
    held: list[bytearray] = []
    dropped_ids: list[int] = []
    for n, part in enumerate(stream_parts(url, {"Accept": ACCEPT_DICOM}, 10, "test")):
        if n % 2:
            held.append(part)
        else:
            dropped_ids.append(id(part))
    assert len(held) + len(dropped_ids) == len(seeded.series[series]) >= 8
    assert len(set(dropped_ids)) < len(dropped_ids)  # dropped buffers came back
    assert len({id(p) for p in held}) == len(held)
    for part in held:  # untouched by the parts read after them
        got = dcmread(BytesIO(bytes(part)))
        source = dcmread(seeded.source(str(got.SOPInstanceUID)))
        assert got.PixelData == source.PixelData


def _orthanc_files(seeded: Seeded, study: str) -> dict[str, bytes]:
    """SOP Instance UID -> the file as Orthanc stores it (what WADO-RS sends, transfer-syntax=*)."""
    import httpx

    rest = seeded.server.rest_url
    found = httpx.post(
        f"{rest}/tools/find",
        json={"Level": "Instance", "Query": {"StudyInstanceUID": study}, "Expand": True},
    ).json()
    return {
        item["MainDicomTags"]["SOPInstanceUID"]: httpx.get(
            f"{rest}/instances/{item['ID']}/file"
        ).content
        for item in found
    }


def _open_pipes() -> int:
    import os

    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
        except OSError:
            continue
    return found


@pytest.mark.parametrize("pipe_size", [1 << 20, 4096])
def test_piped_retrieve_stores_the_archive_bytes(
    seeded: Seeded, web_node: Any, local: LocalAE, pipe_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts moved socket -> pipe -> file (splice) are the archive's bytes, byte for byte;
    with a one-page pipe most of each part comes through memory instead (pipe full)."""
    from viewer.archive import fastweb

    if not fastweb._SPLICE:
        pytest.skip("no splice() here")
    monkeypatch.setattr(fastweb, "_PIPE_SIZE", pipe_size)
    study = max(seeded.studies, key=lambda uid: len(seeded.studies[uid]))
    expected = _orthanc_files(seeded, study)
    pipes = _open_pipes()
    result = Retriever(web_node, Cache(), local).retrieve(study)
    assert result.fetched == len(expected) >= 8
    for path in result.paths:
        got = path.read_bytes()
        assert got == expected[str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)]
    assert _open_pipes() == pipes


def test_piped_parts_kept_written_late_or_dropped(
    seeded: Seeded, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped parts can wait (their pipes are not reused while held), be written after the
    stream is over, or be dropped unwritten; more parts held than pipes come in memory."""
    import os

    from viewer.archive import fastweb
    from viewer.archive.dicomweb import ACCEPT_DICOM

    if not fastweb._SPLICE:
        pytest.skip("no splice() here")
    monkeypatch.setattr(fastweb, "_PIPES", 3)
    series = max(seeded.series, key=lambda uid: len(seeded.series[uid]))
    study = next(s for s, sops in seeded.studies.items() if seeded.series[series][0] in sops)
    expected = _orthanc_files(seeded, study)
    url = f"{seeded.server.web_address}/studies/{study}/series/{series}"
    pipes = _open_pipes()
    held: list[fastweb.PipedPart] = []
    for n, part in enumerate(stream_parts_live(url, ACCEPT_DICOM)):
        assert isinstance(part, fastweb.PipedPart)
        if n % 3 != 2:  # every third part dropped unwritten
            held.append(part)
    in_pipes = [p for p in held if p._pipe is not None]
    assert len(held) >= 6 and len(in_pipes) == 3  # the others came in memory
    for n, part in enumerate(held):
        sop = part10_meta(part.head)["MediaStorageSOPInstanceUID"]
        if n % 2:
            assert part.read() == expected[sop]
            continue
        path = tmp_path / f"{n}.dcm"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        try:
            assert part.write_to(fd) == len(expected[sop])
        finally:
            os.close(fd)
        assert path.read_bytes() == expected[sop]
        with pytest.raises(RuntimeError):
            part.write_to(fd)
    held.clear()
    assert _open_pipes() == pipes


def stream_parts_live(url: str, accept: str) -> Any:
    from viewer.archive.fastweb import stream_parts

    return stream_parts(url, {"Accept": accept}, 10, "test", live=True)


def test_series_with_nothing_cached_is_asked_for_before_the_series_query(
    seeded: Seeded, web_node: Any, local: LocalAE, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The series retrieve is sent first and read once planned (one GET of it, first image
    still first); with part of it cached, or for a series the archive does not have, the
    early request is not made or is closed unused."""
    from viewer.archive import dicomweb, fastweb

    sent: list[tuple[str, Any]] = []
    real = fastweb.send_get

    def spy(url: str, *args: Any) -> Any:
        sock = real(url, *args)
        sent.append((url, sock))
        return sock

    monkeypatch.setattr(dicomweb, "send_get", spy)
    monkeypatch.setattr(fastweb, "send_get", spy)
    series = max(seeded.series, key=lambda uid: len(seeded.series[uid]))
    study = next(s for s, sops in seeded.studies.items() if seeded.series[series][0] in sops)
    cache = Cache()
    paths: list[Any] = []
    result = Retriever(web_node, cache, local).retrieve(study, series, on_instance=paths.append)
    assert result.fetched == len(seeded.series[series])
    assert paths[0].name == f"{_first_number_one(seeded, series)}.dcm"
    series_gets = [u for u, _ in sent if u.endswith(f"/series/{series}")]
    assert sent[0][0].endswith(f"/series/{series}") and len(series_gets) == 1
    assert all(sock.fileno() == -1 for _, sock in sent)

    early: list[str] = []
    real_early = DicomWebClient.send_retrieve

    def spy_early(self: DicomWebClient, study_uid: str, series_uid: str) -> Any:
        early.append(series_uid)
        return real_early(self, study_uid, series_uid)

    monkeypatch.setattr(DicomWebClient, "send_retrieve", spy_early)
    cache.delete_study(study)  # some cached: nothing asked early
    Retriever(web_node, cache, local).retrieve(study, series, seeded.series[series][:2])
    Retriever(web_node, cache, local).retrieve(study, series)
    assert not early and cache.count(study, series) == len(seeded.series[series])

    sent.clear()  # a series the archive does not have: the early request is closed
    Retriever(web_node, Cache(), local).retrieve(study, "1.2.3.4.5.6.7.8.9")
    assert [u for u, _ in sent][:1] == [f"{web_node.url}/studies/{study}/series/1.2.3.4.5.6.7.8.9"]
    assert all(sock.fileno() == -1 for _, sock in sent)


def _first_number_one(seeded: Seeded, series: str) -> str:
    numbers = {
        sop: int(dcmread(seeded.source(sop), stop_before_pixels=True).InstanceNumber)
        for sop in seeded.series[series]
    }
    return min(numbers, key=numbers.__getitem__)
