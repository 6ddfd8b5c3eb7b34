"""Errors of the DICOM layer: always name the file and say what is wrong."""

from __future__ import annotations

from pathlib import Path


class DicomReadError(Exception):
    """A file could not be read or decoded; ``str()`` is ``"path: reason"``.

    Raised for bad input (truncated file, wrong pixel data length, missing
    attributes, an unsupported transfer syntax, an image too large to decode).
    Callers that load many files catch it per file and carry on.
    """

    def __init__(self, path: Path | str | None, reason: str) -> None:
        self.path = str(path) if path is not None else "<dataset>"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[DicomReadError], tuple[str, str]]:
        # picklable, so that worker processes can report it (see parallel.py)
        return (type(self), (self.path, self.reason))
