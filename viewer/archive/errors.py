"""Errors of the archive layer: each message names the archive and what went wrong."""

from __future__ import annotations


class ArchiveError(RuntimeError):
    """An archive could not do what was asked (unreachable, refused, bad answer...)."""


class ArchiveUnreachable(ArchiveError):
    """No connection to the archive (down, wrong host or port, firewall)."""


class AssociationRejected(ArchiveError):
    """The archive refused the DICOM association (e.g. unknown called AE title)."""


class ArchiveTimeout(ArchiveError):
    """The archive did not answer in time."""


class AuthenticationFailed(ArchiveError):
    """Wrong password, token or certificate."""


class ProtocolError(ArchiveError):
    """The peer sent something that is not valid DICOM / DICOMweb."""


class RetrieveCancelled(ArchiveError):
    """The user cancelled a retrieve; what was stored stays valid in the cache."""
