"""DICOM TLS (PS3.15 B.9) against Orthanc's DICOM TLS with a test CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from tests.archive.tlsutil import Pki, make_pki
from tests.keyrings import MemoryKeyring
from tests.shared_data import shared
from viewer.archive.cache import Cache
from viewer.archive.dimse import DimseClient
from viewer.archive.errors import AuthenticationFailed, ProtocolError
from viewer.archive.nodes import KEYRING_SERVICE, LocalAE, parse_address
from viewer.archive.orthanc import OrthancServer, OrthancTls, start_orthanc
from viewer.archive.retrieve import Retriever

pytestmark = pytest.mark.integration

FILES = sorted(shared("mr_orientation/dcm4che_MR_coronal_16").glob("*.dcm"))[:4]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_orthanc(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    tls = OrthancTls(pki.server_cert, pki.server_key, pki.ca, remote_certificate_required=True)
    server = start_orthanc(tmp_path_factory.mktemp("orthanc-tls"), tls=tls)
    server.store_files(FILES)
    yield server
    server.stop(graceful=False)


def _node(server: OrthancServer, **settings: Any) -> Any:
    return parse_address(server.dimse_address, name="tls-pacs", timeout=5, **settings)


@pytest.fixture
def client_node(tls_orthanc: OrthancServer, pki: Pki, memory_keyring: MemoryKeyring) -> Any:
    memory_keyring.set_password(KEYRING_SERVICE, "tls-pacs:tls-key", pki.passphrase)
    return _node(tls_orthanc, tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.client_key)


def test_address_scheme_selects_tls(tls_orthanc: OrthancServer) -> None:
    assert tls_orthanc.dimse_address.startswith("dicoms://")
    assert _node(tls_orthanc).tls


def test_echo_find_and_get_over_tls(client_node: Any) -> None:
    local = LocalAE("REGARD", timeout=5)
    DimseClient(client_node, local).echo()
    studies = DimseClient(client_node, local).find("study", {})
    assert len(studies) == 1
    result = Retriever(client_node, Cache(), local).retrieve(studies[0]["StudyInstanceUID"])
    assert result.fetched == len(FILES)
    sources = {str(dcmread(f).SOPInstanceUID): dcmread(f) for f in FILES}
    for path in result.paths:
        got = dcmread(path)
        assert got.PixelData == sources[str(got.SOPInstanceUID)].PixelData


def test_archive_certificate_from_another_ca_is_refused(
    tls_orthanc: OrthancServer, pki: Pki, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    other = make_pki(tmp_path / "other", name="Some other CA")
    memory_keyring.set_password(KEYRING_SERVICE, "tls-pacs:tls-key", pki.passphrase)
    node = _node(tls_orthanc, tls_ca=other.ca, tls_cert=pki.client_cert, tls_key=pki.client_key)
    with pytest.raises(AuthenticationFailed, match="TLS"):
        DimseClient(node, LocalAE("REGARD", timeout=5)).echo()


def test_our_certificate_is_required_by_the_archive(tls_orthanc: OrthancServer, pki: Pki) -> None:
    node = _node(tls_orthanc, tls_ca=pki.ca)
    with pytest.raises(AuthenticationFailed, match="certificate was refused"):
        DimseClient(node, LocalAE("REGARD", timeout=5)).echo()


def test_plain_dicom_to_a_tls_port_fails_clearly(tls_orthanc: OrthancServer) -> None:
    node = parse_address(tls_orthanc.dimse_address.replace("dicoms:", "dicom:"), timeout=3)
    with pytest.raises(ProtocolError, match="dicoms://"):
        DimseClient(node, LocalAE("REGARD", timeout=3)).echo()


def test_client_certificate_signed_by_an_unknown_ca_is_refused(
    tls_orthanc: OrthancServer, pki: Pki, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    other = make_pki(tmp_path / "other", name="Some other CA")
    memory_keyring.set_password(KEYRING_SERVICE, "tls-pacs:tls-key", other.passphrase)
    node = _node(tls_orthanc, tls_ca=pki.ca, tls_cert=other.client_cert, tls_key=other.client_key)
    with pytest.raises(AuthenticationFailed, match="certificate was refused"):
        DimseClient(node, LocalAE("REGARD", timeout=5)).echo()
