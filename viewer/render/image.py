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
from dataclasses import replace

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkDataArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume

log = logging.getLogger(__name__)


def uniform_volume(volume: Volume, max_factor: int = 8) -> Volume:
    """The volume itself if its slices are evenly spaced, else a copy resampled along k.

    With non-uniform spacing or a missing slice (``Volume.uniform`` False) the
    affine's regular k axis does not say where slices are; their true LPS
    positions are ``Volume.slice_positions``. The copy has slices every
    smallest gap (at most ``max_factor`` times as many slices), each one
    linearly interpolated between the two acquired slices around it, so every
    acquired slice keeps its exact position. Slices must lie on one line (as
    assembly guarantees); otherwise the volume is returned unchanged.
    """
    if volume.uniform or volume.slice_positions is None:
        return volume
    positions = np.asarray(volume.slice_positions, dtype=float)
    kdir = volume.geometry.direction[:, 2]
    t = (positions - positions[0]) @ kdir
    off_line = positions - positions[0] - np.outer(t, kdir)
    if np.abs(off_line).max() > 0.01 * max(float(np.diff(t).min(initial=1.0)), 1e-3) or np.any(
        np.diff(t) <= 0
    ):
        log.warning("slices not along one line: shown on the regular grid")
        return volume
    k = len(t)
    step = float(np.diff(t).min())
    if t[-1] / step + 1 > max_factor * k:
        step = float(t[-1] / (max_factor * k - 1))
    count = int(np.floor(t[-1] / step + 1e-6)) + 1
    new_t = np.arange(count) * step
    below = np.clip(np.searchsorted(t, new_t, side="right") - 1, 0, k - 2)
    weight = (new_t - t[below]) / (t[below + 1] - t[below])
    src = volume.array
    out = np.empty((count, *src.shape[1:]), dtype=src.dtype)
    integral = src.dtype.kind in "iu"
    for n in range(count):
        w = float(weight[n])
        a, b = src[below[n]], src[below[n] + 1]
        if w <= 1e-9:
            out[n] = a
        elif w >= 1 - 1e-9:
            out[n] = b
        else:
            mixed = a * (1.0 - w) + b * w
            out[n] = np.rint(mixed) if integral else mixed
    g = volume.geometry
    geometry = Geometry(
        (g.dims[0], g.dims[1], count), (g.spacing[0], g.spacing[1], step), positions[0], g.direction
    )
    log.debug("non-uniform stack resampled for display: %d -> %d slices", k, count)
    return replace(volume, array=out, geometry=geometry, slice_positions=None)


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
