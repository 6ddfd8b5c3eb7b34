"""Reading DICOM: index, pixels, geometry and volumes (no Qt here)."""
