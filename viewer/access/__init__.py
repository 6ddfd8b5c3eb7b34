"""Nominative access and the audit trail (issue 6). Entry point: :mod:`viewer.access.gate`."""
