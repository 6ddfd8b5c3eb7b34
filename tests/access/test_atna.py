"""DICOM audit messages (PS3.15 A.5): every event type validated against the A.5.1.1 schema."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
from lxml import etree
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset

from tests.access.conftest import write_user
from viewer.access import atna
from viewer.access.gate import AccessDenied, AccessGate, Action, PatientRef
from viewer.access.journal import AuditEntry, AuditRecord

P = PatientRef("IPP4242", "CHU-A", "279035121518989", "1.2.250.1.213.1.4.8", "QUAL")
STUDY = "1.2.826.0.1.3680043.8.498.1"


def _all_kinds(gate: AccessGate) -> dict[str, AuditRecord]:
    user = gate.current_user()
    recs = {
        "login": gate.record(Action.LOGIN),
        "query": gate.authorize_and_record(
            Action.QUERY, patient=P, archive="dicom://ORTHANC@127.0.0.1:4242",
            detail={"query": {"QueryRetrieveLevel": "STUDY", "PatientID": "IPP4242",
                              "StudyDate": "20250101-"}}).record,
        "retrieve": gate.authorize_and_record(
            Action.RETRIEVE, patient=P, study_uids=[STUDY], archive="ORTHANC@pacs.chu.example",
        ).record,
        "transferred": gate.record(Action.TRANSFERRED, patient=P, study_uids=[STUDY],
                                   archive="ORTHANC@pacs.chu.example",
                                   detail={"sop_classes": {"1.2.840.10008.5.1.4.1.1.2": 120}}),
        "view": gate.authorize_and_record(
            Action.VIEW, patient=P, study_uids=[STUDY], series_uids=[STUDY + ".1"],
            archive="local", screen_fitness="fit", detail={"accession": "A123"}).record,
        "export": gate.authorize_and_record(Action.EXPORT, patient=P, study_uids=[STUDY],
                                            detail={"destination": "/media/usb"}).record,
        "print": gate.authorize_and_record(Action.PRINT, patient=P, study_uids=[STUDY]).record,
        "change_settings": gate.authorize_and_record(Action.CHANGE_SETTINGS).record,
        "declare_care": gate.declare_care_relationship(P, "follow-up of a nodule"),
        "break_glass_start": gate.break_glass("stroke alert, patient unconscious", 10,
                                              patient=P).record,
    }
    gate.end_break_glass(P)
    recs["break_glass_end"] = list(gate.journal.records())[-1]
    recs["audit_log_used"] = gate.record(Action.AUDIT_LOG_USED, patient=P,
                                         detail={"journal": "file:///x/journal.sqlite"})
    recs["logout"] = gate.record(Action.LOGOUT, user=user)
    return recs


def test_every_message_type_is_valid(gate: AccessGate) -> None:
    recs = _all_kinds(gate)
    for kind, rec in recs.items():
        xml = atna.message_bytes(rec, site_id="CHU-A")
        atna.validate(xml)  # raises InvalidAuditMessage
        root = etree.fromstring(xml)
        event = root.find("EventIdentification/EventID")
        assert event.get("csd-code") == atna.EVENTS[kind][0].code, kind
        assert root.find("AuditSourceIdentification/AuditSourceTypeCode").get("csd-code") == "1"
        req = root.find("ActiveParticipant[@UserIsRequestor='true']")
        assert req.get("UserID") == gate.current_user().user_id


def test_message_contents_follow_the_event_tables(gate: AccessGate) -> None:
    recs = _all_kinds(gate)
    q = etree.fromstring(atna.message_bytes(recs["query"]))
    query = q.find("ParticipantObjectIdentification/ParticipantObjectQuery").text
    ds = read_dataset(DicomBytesIO(base64.b64decode(query)), is_implicit_VR=False,
                      is_little_endian=True)
    assert (ds.QueryRetrieveLevel, ds.PatientID, ds.StudyDate) == ("STUDY", "IPP4242", "20250101-")
    dest = q.find("ActiveParticipant[@UserID='ORTHANC']")
    assert dest.get("NetworkAccessPointID") == "127.0.0.1"
    assert dest.get("NetworkAccessPointTypeCode") == "2"
    v = etree.fromstring(atna.message_bytes(recs["view"]))
    assert v.find("EventIdentification").get("EventActionCode") == "R"
    study = v.find(f"ParticipantObjectIdentification[@ParticipantObjectID='{STUDY}']")
    assert study.find("ParticipantObjectIDTypeCode").get("csd-code") == "110180"
    assert study.find("ParticipantObjectDescription/Accession").get("Number") == "A123"
    pat = v.find("ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']")
    assert pat.get("ParticipantObjectID") == "IPP4242^^^CHU-A"
    ins = pat.find("ParticipantObjectDetail[@type='INS']").get("value")
    assert base64.b64decode(ins).decode() == (
        "279035121518989^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS")
    t = etree.fromstring(atna.message_bytes(recs["transferred"]))
    assert t.find(".//SOPClass").get("NumberOfInstances") == "120"
    bg = etree.fromstring(atna.message_bytes(recs["break_glass_start"]))
    assert bg.find("EventIdentification/EventTypeCode").get("csd-code") == "110127"
    assert "stroke alert" in bg.find("EventIdentification/EventOutcomeDescription").text
    end = etree.fromstring(atna.message_bytes(recs["break_glass_end"]))
    assert end.find("EventIdentification/EventTypeCode").get("csd-code") == "110138"
    pr = etree.fromstring(atna.message_bytes(recs["print"]))
    assert pr.find(".//MediaIdentifier/MediaType").get("csd-code") == "110038"
    login = etree.fromstring(atna.message_bytes(recs["login"]))
    assert login.find("EventIdentification/EventTypeCode").get("csd-code") == "110122"
    assert login.find("ActiveParticipant[@UserIsRequestor='true']").get("NetworkAccessPointID")


def test_break_glass_access_and_denials_are_marked(regard_home: Path) -> None:
    write_user(regard_home, '[user]\nrole = "referring_physician"\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied):
        gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY])
    gate.break_glass("polytrauma, no referring physician reachable", 15, patient=P)
    gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY])
    denied, _, emergency = list(gate.journal.records())
    d = etree.fromstring(atna.message_bytes(denied))
    assert d.find("EventIdentification").get("EventOutcomeIndicator") == "4"
    assert "care relationship" in d.find("EventIdentification/EventOutcomeDescription").text
    e = etree.fromstring(atna.message_bytes(emergency))
    mode = e.find(".//ParticipantObjectDetail[@type='AccessMode']").get("value")
    assert base64.b64decode(mode) == b"break-the-glass"
    for rec in (denied, emergency):
        atna.validate(atna.message_bytes(rec))


def test_messages_are_deterministic(gate: AccessGate) -> None:
    rec = gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY]).record
    assert atna.message_bytes(rec) == atna.message_bytes(rec)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda r: r.find("EventIdentification").remove(r.find("EventIdentification/EventID")),
         "schema"),
        (lambda r: r.find("EventIdentification").set("EventOutcomeIndicator", "3"), "schema"),
        (lambda r: r.find("EventIdentification").set("EventDateTime", "yesterday"), "schema"),
        (lambda r: r.find("EventIdentification").set("EventDateTime", "2026-01-01T10:00:00"),
         "time zone"),
        (lambda r: r.remove(r.find("AuditSourceIdentification")), "schema"),
        (lambda r: r.find("ActiveParticipant").set("UserIsRequestor", "false"), "requestors"),
        (lambda r: r.find("ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']")
         .set("ParticipantObjectTypeCodeRole", "3"), "patient object"),
        (lambda r: r.find("EventIdentification/EventID").attrib.pop("originalText"), "schema"),
        (lambda r: r.find(".//ParticipantObjectDetail").set("value", "not base64!"), "schema"),
        (lambda r: r.insert(0, etree.Element("Extra")), "schema"),
    ],
)
def test_validator_rejects_broken_messages(gate: AccessGate, breakage, expected: str) -> None:
    rec = gate.authorize_and_record(Action.VIEW, patient=P, study_uids=[STUDY],
                                    series_uids=[STUDY + ".1"]).record
    good = atna.build_message(rec)
    atna.validate(good)
    bad = copy.deepcopy(good)
    breakage(bad)
    with pytest.raises(atna.InvalidAuditMessage, match=expected):
        atna.validate(bad)


def test_unknown_action_still_gives_a_valid_message(gate: AccessGate) -> None:
    user = gate.current_user()
    rec = gate.journal.append(AuditEntry(user_id=user.user_id, user_name="x", action="other",
                                         workstation="ws"))
    atna.validate(atna.message_bytes(rec))
