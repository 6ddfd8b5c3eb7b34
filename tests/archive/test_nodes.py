"""Archive nodes: addresses, site and user configuration, secrets from the keyring."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.archive.conftest import MemoryKeyring
from viewer.archive.nodes import (
    KEYRING_SERVICE,
    NodeError,
    configured_nodes,
    local_ae,
    parse_address,
    resolve_node,
)


def test_addresses_of_each_kind() -> None:
    dimse = parse_address("dicom://PACS_1@pacs.example.org:11112")
    assert (dimse.protocol, dimse.ae_title, dimse.host, dimse.port, dimse.tls) == (
        "dimse", "PACS_1", "pacs.example.org", 11112, False,
    )  # fmt: skip
    assert parse_address("dicoms://PACS@10.0.0.5:2762").tls
    web = parse_address("https://pacs.example.org/dicom-web/")
    assert (web.protocol, web.port, web.tls, web.url) == (
        "dicomweb", 443, True, "https://pacs.example.org/dicom-web",
    )  # fmt: skip
    assert parse_address("dicom://PACS@h").port == 104


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("dicom://h:104", "AE title is missing"),
        ("dicom://THIS_TITLE_IS_TOO_LONG@h:104", "not a valid AE title"),
        ("ftp://h/x", "unknown archive address"),
        ("dicom://PACS@h:notaport", "bad port"),
    ],
)
def test_bad_addresses_are_explained(address: str, message: str) -> None:
    with pytest.raises(NodeError, match=message):
        parse_address(address)


def test_site_nodes_and_user_nodes_combine(regard_home: Path) -> None:
    (regard_home / "site-config.toml").write_text(
        '[archive]\nae_title = "HOSP_VIEWER"\nport = 11113\ntimeout = 7\n'
        '[archives.regional]\naddress = "dicoms://REGION@pacs.region.fr:2762"\n'
        'tls_ca = "/etc/regard/ca.pem"\nretrieve = "move"\nassociations = 2\n'
    )
    (regard_home / "config.toml").write_text(
        '[archives.web]\naddress = "https://pacs.region.fr/dicom-web"\nusername = "alice"\n'
    )
    nodes = configured_nodes()
    assert sorted(nodes) == ["regional", "web"]
    regional = nodes["regional"]
    assert regional.tls and regional.tls_ca == Path("/etc/regard/ca.pem")
    assert (regional.retrieve, regional.associations, regional.timeout) == ("move", 2, 7.0)
    assert nodes["web"].auth == "basic" and nodes["web"].username == "alice"
    assert local_ae().ae_title == "HOSP_VIEWER" and local_ae().port == 11113
    # by name, or by its address (keeping its settings)
    assert resolve_node("regional") == regional
    assert resolve_node("dicoms://REGION@pacs.region.fr:2762").tls_ca == regional.tls_ca
    with pytest.raises(NodeError, match=r"unknown archive 'nope'.*regional, web"):
        resolve_node("nope")


def test_secrets_come_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    node = parse_address("https://h/dicom-web", name="web", username="alice")
    assert node.secret("alice") is None
    memory_keyring.set_password(KEYRING_SERVICE, "web:alice", "pw")
    assert node.secret("alice") == "pw"
