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
from pathlib import Path
from typing import Any

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkDataArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from viewer.dicom.volume import Volume

log = logging.getLogger(__name__)


def uniform_volume(volume: Volume, max_factor: int = 8) -> Volume:
    """The volume itself if its slices are evenly spaced, else a copy on a regular k grid.

    With non-uniform spacing or a missing slice (``Volume.uniform`` False) the
    affine's regular k axis does not say where slices are; their true LPS
    positions are ``Volume.slice_positions``. :meth:`Volume.regular` resamples
    the stack linearly at those true positions; we ask for the *smallest* gap
    as the step (at most ``max_factor`` times as many slices) so that thin,
    closely spaced slices are not averaged away, as the median step would.
    """
    if volume.uniform or volume.slice_positions is None or len(volume.slice_positions) < 2:
        return volume
    positions = np.asarray(volume.slice_positions, dtype=float)
    gaps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    length = float(np.linalg.norm(positions[-1] - positions[0]))
    step = max(float(gaps.min()), length / max(1, max_factor * len(positions) - 1))
    log.debug("non-uniform stack resampled for display at %.3f mm", step)
    return volume.regular(spacing=step)


class VolumeImage:
    """Zero-copy vtkImageData of a Volume's voxels; holds the numpy array alive.

    Several views of one volume share one ``VolumeImage``. ``volume`` is what
    is drawn: the given volume, or its evenly resampled copy when the slices
    are unevenly spaced (:func:`uniform_volume`); ``source`` is the given one.
    """

    def __init__(self, volume: Volume) -> None:
        self.source = volume
        volume = uniform_volume(volume)
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


def window_rgb(
    window: Any, viewport: tuple[float, float, float, float] | None = None
) -> np.ndarray:
    """The window's back buffer as RGB uint8 (rows, cols, 3), row 0 at the top.

    ``viewport`` (left, bottom, width, height in window pixels) crops to one view.
    The window must have been rendered.
    """
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.ShouldRerenderOff()
    grab.Update()
    rgb = image_to_numpy(grab.GetOutput())
    if viewport is not None:
        left, bottom, width, height = viewport
        x0, y0 = round(left), round(bottom)
        rgb = rgb[y0:y0 + round(height), x0:x0 + round(width)]
    return rgb[::-1].copy()


def save_rgb_png(rgb: np.ndarray, path: str | Path) -> Path:
    from PIL import Image

    path = Path(path)
    Image.fromarray(rgb).save(path)
    return path
