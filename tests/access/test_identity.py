"""Identity: the OS account's profile, local accounts (scrypt), idle lock, OIDC mapping."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from tests.access.conftest import write_site, write_user
from viewer.access.identity import (
    IdentityError,
    LocalAccountProvider,
    OidcProvider,
    OsAccountProvider,
    Session,
    SessionLocked,
    check_password,
    hash_password,
)
from viewer.access.patient import PatientRef


def test_os_user_defaults_to_radiologist_profile() -> None:
    user = OsAccountProvider().current_user()
    assert user.login == getpass.getuser()
    assert user.role == "radiologist"
    assert user.user_id.startswith(f"{user.login}@")


def test_os_user_profile_from_config(regard_home: Path) -> None:
    write_user(regard_home, '[user]\ndisplay_name = "Dr Claire Martin"\nrpps = "10101010101"\n'
                            'profession = "10"\nrole = "referring_physician"\n')
    user = OsAccountProvider().current_user()
    assert (user.display_name, user.rpps, user.role) == (
        "Dr Claire Martin", "10101010101", "referring_physician")


def test_user_cannot_declare_a_role_the_site_keeps(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "administrator"\n')
    with pytest.raises(IdentityError, match="administrator"):
        OsAccountProvider().current_user()


def test_site_maps_os_accounts_and_wins(regard_home: Path) -> None:
    login = getpass.getuser()
    write_site(regard_home, f'[access.users.{login}]\nrole = "technologist"\n'
                            'display_name = "M. Manip"\n')
    write_user(regard_home, '[user]\nrole = "radiologist"\n')
    user = OsAccountProvider().current_user()
    assert (user.role, user.display_name) == ("technologist", "M. Manip")


def test_scrypt_hash_is_salted_and_checked() -> None:
    a = hash_password("correct horse battery", n=2**12)
    b = hash_password("correct horse battery", n=2**12)
    assert a != b and a.startswith("scrypt$4096$8$1$")
    assert check_password("correct horse battery", a)
    assert not check_password("correct horse batterY", a)
    assert not check_password("x", "md5$whatever")


def test_local_accounts_authenticate_by_name(regard_home: Path) -> None:
    prov = LocalAccountProvider()
    prov.add_account("cmartin", "a long passphrase", role="radiologist",
                     display_name="Dr Claire Martin", rpps="10101010101", scrypt_n=2**12)
    assert "a long passphrase" not in prov.path.read_text()
    with pytest.raises(IdentityError):
        prov.current_user()
    with pytest.raises(IdentityError, match="wrong password"):
        prov.authenticate("cmartin", "wrong passphrase!")
    user = prov.authenticate("cmartin", "a long passphrase")
    assert (user.display_name, user.provider, prov.current_user()) == (
        "Dr Claire Martin", "local", user)
    with pytest.raises(IdentityError, match="12 characters"):
        prov.add_account("x", "short", role="radiologist", display_name="X")


def test_session_locks_after_idle_and_needs_the_same_user() -> None:
    now = [0.0]
    prov_user = OsAccountProvider().current_user()
    s = Session(prov_user, idle_seconds=600, clock=lambda: now[0])
    now[0] = 599
    s.touch()
    now[0] = 1200
    with pytest.raises(SessionLocked, match="locked"):
        s.touch()
    other = prov_user.__class__(**{**prov_user.__dict__, "login": "someone-else"})
    with pytest.raises(IdentityError):
        s.unlock(other)
    s.unlock(prov_user)
    s.touch()


def test_oidc_userinfo_maps_to_a_named_user() -> None:
    user = OidcProvider().login({
        "SubjectNameID": "810101010101", "given_name": "Claire", "family_name": "Martin",
        "SubjectRole": ["10^1.2.250.1.71.1.2.7"], "preferred_username": "810101010101",
    })
    assert (user.rpps, user.role, user.display_name, user.dicom_name) == (
        "10101010101", "radiologist", "Claire Martin", "MARTIN^CLAIRE")
    with pytest.raises(IdentityError, match="no role"):
        OidcProvider().login({"SubjectNameID": "899", "SubjectRole": ["60^x"]})


def test_patient_ref_reads_ins_from_other_patient_ids() -> None:
    ds = Dataset()
    ds.PatientID = "IPP123"
    ds.IssuerOfPatientID = "CHU-A"
    local = Dataset()
    local.PatientID = "OLD9"
    local.IssuerOfPatientID = "CLINIC"
    ins = Dataset()
    ins.PatientID = "279035121518989"
    ins.IssuerOfPatientID = "ASIP-SANTE-INS-NIR"
    ins.TypeOfPatientID = "TEXT"
    q = Dataset()
    q.UniversalEntityID = "1.2.250.1.213.1.4.8"
    q.UniversalEntityIDType = "ISO"
    ins.IssuerOfPatientIDQualifiersSequence = [q]
    ds.OtherPatientIDsSequence = [local, ins]
    ref = PatientRef.from_dataset(ds)
    assert ref == PatientRef("IPP123", "CHU-A", "279035121518989", "1.2.250.1.213.1.4.8", "QUAL")
    assert ref.keys() == {"IPP123", "IPP123^CHU-A", "INS:279035121518989"}
    bare = Dataset()
    bare.PatientID = "X"
    assert PatientRef.from_dataset(bare) == PatientRef("X")
    with pytest.raises(ValueError):
        PatientRef("X", identity_status="MAYBE")
