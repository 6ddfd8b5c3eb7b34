"""Regard: a diagnostic DICOM viewer for a regional imaging-sharing network."""

from __future__ import annotations

__version__ = "0.1.0"
