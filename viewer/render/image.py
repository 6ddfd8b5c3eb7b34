"""A :class:`~viewer.dicom.volume.Volume` as a VTK image, without copying the voxels.

The vtkImageData is kept in *voxel index space* (origin 0, spacing 1,
identity direction); the patient geometry is applied by the reslice axes
(:func:`reslice_axes`) or a prop's user matrix (volume rendering) as the full
affine of :class:`~viewer.dicom.geometry.Geometry`. That way a sheared stack
(gantry tilt: the k axis not perpendicular to the slices) is sampled exactly,
whatever VTK does with non-orthogonal direction matrices.
"""

from __future__ import annotations

import logging

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkDataArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from viewer.dicom.volume import Volume

log = logging.getLogger(__name__)


class VolumeImage:
    """Zero-copy vtkImageData of a Volume's voxels; holds the numpy array alive.

    Several views of one volume share one ``VolumeImage``.
    """

    def __init__(self, volume: Volume) -> None:
        array = volume.array
        if array.ndim != 3:
            raise ValueError(f"volume array must be 3-D (k, j, i), got shape {array.shape}")
        if not array.flags.c_contiguous:
            log.debug("volume array not C-contiguous: copying it once for VTK")
            array = np.ascontiguousarray(array)
        if array.dtype == np.float64 or array.dtype.kind not in "iuf":
            array = array.astype(np.float32)
        self.volume = volume
        self._array = array  # VTK borrows this buffer: keep it alive as long as the image
        k, j, i = array.shape
        self.image = vtkImageData()
        self.image.SetDimensions(i, j, k)
        scalars: vtkDataArray = numpy_to_vtk(array.reshape(-1), deep=False)
        scalars.SetName("voxels")
        self.image.GetPointData().SetScalars(scalars)
        self.range = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)

    @property
    def array(self) -> np.ndarray:
        return self._array


def matrix4(m: np.ndarray) -> vtkMatrix4x4:
    out = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            out.SetElement(r, c, float(m[r, c]))
    return out


def image_to_numpy(image: vtkImageData) -> np.ndarray:
    """Scalars of a 2-D vtkImageData as (rows, columns[, comps]), row 0 = lowest y (VTK order)."""
    nx, ny, _ = image.GetDimensions()
    scalars = vtk_to_numpy(image.GetPointData().GetScalars())
    comps = image.GetNumberOfScalarComponents()
    return scalars.reshape((ny, nx, comps) if comps > 1 else (ny, nx))
