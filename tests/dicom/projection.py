"""Write small projection images (DX, no Image Position/Orientation) for 2-D tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"


def write_dx(
    path: Path,
    array: np.ndarray,
    *,
    series_uid: str = "1.2.826.0.1.3680043.8.498.1",
    instance_number: int | None = 1,
    photometric: str = "MONOCHROME2",
    **attributes: Any,
) -> Path:
    """A DX For Presentation file of ``array`` (uint16 grey, or (r, c, 3) uint8 RGB).

    ``attributes`` are DICOM keywords (e.g. ``PatientOrientation=["L", "F"]``,
    ``ImagerPixelSpacing=[0.1, 0.1]``, ``WindowCenter=...``, ``FrameTime=40``).
    """
    ds = Dataset()
    ds.SOPClassUID = attributes.pop("SOPClassUID", DX_FOR_PRESENTATION)
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.SeriesInstanceUID = series_uid
    ds.Modality = attributes.pop("Modality", "DX")
    ds.PatientName = "Test^Projection"
    ds.PatientID = "P2D"
    if instance_number is not None:
        ds.InstanceNumber = instance_number
    frames = int(attributes.get("NumberOfFrames", 1))
    colour = array.ndim == (4 if frames > 1 else 3)
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else photometric
    if colour:
        ds.PlanarConfiguration = 0
    shape = array.shape[1:] if frames > 1 else array.shape
    ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
    bits = 8 if array.dtype == np.uint8 else 16
    ds.BitsAllocated = bits
    ds.BitsStored = bits if bits == 8 else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    for key, value in attributes.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(array).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path
