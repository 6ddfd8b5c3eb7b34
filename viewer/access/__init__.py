"""Nominative access and the tamper-evident audit trail (issue 6).

Entry point for every other layer: :mod:`viewer.access.gate`::

    from viewer.access.gate import AccessGate, Action, PatientRef, AccessDenied, AuditUnavailable

    gate = AccessGate()                       # who: the OS user's profile by default
    gate.current_user()                       # -> User(display_name, user_id, role, rpps, ...)
    gate.authorize_and_record(Action.VIEW, patient=PatientRef.from_dataset(ds),
                              study_uids=[...], series_uids=[...], archive="PACS",
                              screen_fitness=..., referring_physicians=[...],
                              origin_site=...)  # returns once committed
    gate.break_glass("reason", minutes, patient=ref)   # emergency access, time-limited
    gate.login(LocalAccountProvider(), login, password) # shared stations (idle lock)
    gate.declare_care_relationship(ref, "reason")       # clinician joins the care team

``authorize_and_record`` raises :class:`~viewer.access.gate.AccessDenied` (the
refusal is recorded) or :class:`~viewer.access.journal.AuditUnavailable` (the
journal cannot be written: fail closed, nothing opens). Actions: ``QUERY``,
``RETRIEVE``, ``VIEW``, ``VIEW_REPORT``, ``EXPORT``, ``PRINT``,
``CHANGE_SETTINGS``; ``gate.record(...)`` writes events that need no decision
(``TRANSFERRED``, ``LOGIN``...).

Modules:

- ``patient.py`` — :class:`PatientRef` (ID, issuer, INS + OID + identity status;
  ``from_dataset`` reads the INS from Other Patient IDs Sequence).
- ``identity.py`` — users and providers: OS account + ``[user]`` profile
  (personal station), local accounts with scrypt (shared station) and
  :class:`Session` idle lock, OpenID Connect userinfo mapping (Pro Santé Connect).
- ``policy.py`` — roles x permissions, care relationship, break-the-glass,
  patients' opposition; the site/user merge where a user can only tighten.
- ``journal.py`` — append-only hash-chained SQLite journal (WAL, FULL sync),
  verification naming the first bad record, signed head and checkpoints, pruning.
- ``atna.py`` / ``atna_schema.py`` — DICOM audit messages (PS3.15 A.5) and the
  A.5.1.1 RELAX NG schema.
- ``syslog.py`` — RFC 5424 over UDP / TCP / TLS to the Audit Record Repository,
  the journal being the durable spool.

Configuration (site file, then ``$REGARD_HOME/config.toml``; defaults in
``resources/policy/access.toml``)::

    [user]                      # the person at a personal reading station
    display_name = "Dr Claire Martin"
    rpps = "10101010101"        # or adeli = "..."
    profession = "10"
    role = "radiologist"        # only roles the site lists in self_declared_roles
    dicom_name = "MARTIN^CLAIRE"  # to recognise the referring physician of a study
    patients = ["IPP123^CHU-A", "INS:279035121518989"]  # care relationship list
                                # (the user's own list counts if care_self_declared)

    [access]                    # site policy (see resources/policy/access.toml)
    site_id = "CHU-A"
    opposition = ["INS:..."]
    [access.users.jdoe]         # the site maps an OS account to its profile
    role = "technologist"

    [audit]
    repository = "tls://arr.chu.example:6514"   # or udp:// tcp://
    ca_file = "/etc/regard/arr-ca.pem"
    cert_file = "/etc/regard/ws.pem"            # client certificate (ATNA node auth)
    key_file = "/etc/regard/ws.key"
    retention_days = 183

With nothing configured, the OS account is a **radiologist** (policy
``default_role``), so ``regard render``, ``probe`` and ``archive`` work on a
personal reading station; a site sets roles in ``[access.users.<login>]`` or a
``[user] role`` of its own file, which the user's file cannot override.
"""
