"""Volume rendering on the CPU: ``vtkFixedPointVolumeRayCastMapper`` with a few presets.

Without a GPU, VTK's smart mapper costs ~3.4 s a frame on llvmpipe and the CPU
ray caster ~0.5 s (PLATFORM.md), so this module uses the CPU caster and lowers
its resolution while the user interacts (:meth:`VolumeRenderView.set_interacting`):
about :data:`INTERACTIVE_RAYS` rays across the viewport whatever its size, one
sample a voxel, nearest-voxel MIP; full quality (a ray a pixel, two samples a
voxel, trilinear) on release.

The image stays in voxel index space and the prop's user matrix is the
volume's full affine, so sheared (gantry-tilt) stacks are drawn in their true
patient shape. The default camera looks at the patient from the front
(anterior view: patient left on the image right, head up).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (volume rendering factories)
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
from vtkmodules.vtkRenderingCore import (
    vtkColorTransferFunction,
    vtkRenderer,
    vtkRenderWindow,
    vtkVolume,
    vtkVolumeProperty,
)
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

from viewer.dicom.volume import Volume
from viewer.render.image import VolumeImage, matrix4, save_rgb_png, window_rgb
from viewer.render.planes import volume_corners
from viewer.render.slice_view import _new_offscreen_window

# Sample distances of vtkFixedPointVolumeRayCastMapper are in units of the input image's
# spacing (ComputeRayInfo scales the voxel ray by it), and our image's spacing is 1 (the
# affine is the prop's user matrix): they are distances in voxels, whatever the mm.
FULL_STEP = 0.5  # two samples a voxel along the ray
INTERACTIVE_STEP = 1.0
# while the user turns the volume: about this many rays across the viewport's longer side
# (every 5th pixel at 1024), so a frame costs the same in a small cell or on a HiDPI screen
INTERACTIVE_RAYS = 200
MIN_INTERACTIVE_SAMPLE_DISTANCE = 2.0


@dataclass(frozen=True)
class Preset:
    """Transfer functions in modality units (HU for CT) or, if ``relative``, in 0..1 of the
    data's 1-99 percentile range."""

    name: str
    opacity: tuple[tuple[float, float], ...]
    colors: tuple[tuple[float, float, float, float], ...]  # (value, r, g, b)
    mip: bool = False
    shade: bool = True
    relative: bool = False


PRESETS: dict[str, Preset] = {
    "ct-bone": Preset(
        "ct-bone",
        ((-1000, 0.0), (150, 0.0), (300, 0.15), (700, 0.6), (1500, 0.9), (3000, 1.0)),
        ((-1000, 0.0, 0.0, 0.0), (200, 0.8, 0.55, 0.35), (500, 0.95, 0.9, 0.8),
         (1500, 1.0, 1.0, 0.95)),
    ),
    "ct-soft-tissue": Preset(
        "ct-soft-tissue",
        ((-1000, 0.0), (-200, 0.0), (-50, 0.05), (60, 0.25), (200, 0.35), (1000, 0.8)),
        ((-1000, 0.0, 0.0, 0.0), (-50, 0.6, 0.3, 0.2), (60, 0.9, 0.55, 0.45),
         (300, 1.0, 0.95, 0.85)),
    ),
    "ct-lung": Preset(
        "ct-lung",
        ((-1000, 0.0), (-900, 0.0), (-700, 0.08), (-400, 0.0), (200, 0.0), (400, 0.3)),
        ((-1000, 0.3, 0.5, 0.8), (-700, 0.7, 0.8, 1.0), (400, 1.0, 1.0, 1.0)),
    ),
    "mip": Preset(
        "mip", ((0.0, 0.0), (1.0, 1.0)), ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
        mip=True, shade=False, relative=True,
    ),
    "mr-default": Preset(
        "mr-default",
        ((0.0, 0.0), (0.15, 0.0), (0.5, 0.3), (1.0, 0.8)),
        ((0.0, 0.0, 0.0, 0.0), (0.3, 0.6, 0.45, 0.35), (1.0, 1.0, 0.95, 0.9)),
        relative=True,
    ),
}

VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # camera direction of projection (from eye to patient) and view-up, LPS
    "anterior": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "posterior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "left": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "right": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "superior": ((0.0, 0.0, -1.0), (0.0, -1.0, 0.0)),
    "inferior": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),
}


def ray_cast_voxels(data: VolumeImage) -> tuple[np.ndarray, float]:
    """The voxels the ray caster reads, and what was added to their values.

    The caster maps a voxel to its tables through ``(value - min) * scale``; with a
    minimum of 0 and a range below 32768 (scale 1) it takes its simple trilinear
    paths, and its MIP skips the cells whose corners cannot raise the ray's maximum:
    10-25 % less time a full MIP frame, the same picture. Integer volumes with another
    minimum (CT's -1024) get a shifted copy (the rendered volume's memory once more);
    the others are read as they are.
    """
    array = data.array
    low, high = data.range
    if array.dtype.kind not in "iu" or low == 0 or high - low > 32767 or not array.size:
        return array, 0.0
    return np.subtract(array, array.dtype.type(low), dtype=array.dtype), -low


def _image_of(array: np.ndarray) -> vtkImageData:
    """A zero-copy vtkImageData of a (k, j, i) array (the caller keeps the array alive)."""
    k, j, i = array.shape
    image = vtkImageData()
    image.SetDimensions(i, j, k)
    image.GetPointData().SetScalars(numpy_to_vtk(array.reshape(-1), deep=False))
    return image


def default_preset(volume: Volume) -> str:
    return "ct-bone" if volume.modality.upper() == "CT" else "mr-default"


class VolumeRenderView:
    """A ray-cast 3-D view of a volume, offscreen or in a given render window."""

    def __init__(
        self,
        volume: Volume | VolumeImage,
        render_window: vtkRenderWindow | None = None,
        viewport: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
        size: tuple[int, int] = (512, 512),
        preset: str | None = None,
    ) -> None:
        self.data = volume if isinstance(volume, VolumeImage) else VolumeImage(volume)
        self.volume = self.data.volume
        self.window = render_window if render_window is not None else _new_offscreen_window(size)
        self.viewport = viewport
        self.renderer = vtkRenderer()
        self.renderer.SetViewport(*viewport)
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        self.window.AddRenderer(self.renderer)
        self.mapper = vtkFixedPointVolumeRayCastMapper()
        self._voxels, self._shift = ray_cast_voxels(self.data)  # VTK borrows the buffer
        self.mapper.SetInputData(self.data.image if self._voxels is self.data.array
                                 else _image_of(self._voxels))
        self.mapper.AutoAdjustSampleDistancesOff()
        self.mapper.LockSampleDistanceToInputSpacingOff()
        # nothing opaque shares the renderer: no z-buffer read-back a frame
        self.mapper.IntermixIntersectingGeometryOff()
        self.property = vtkVolumeProperty()
        self.property.SetInterpolationTypeToLinear()
        self.prop = vtkVolume()
        self.prop.SetMapper(self.mapper)
        self.prop.SetProperty(self.property)
        self.prop.SetUserMatrix(matrix4(self.volume.geometry.affine))
        self.renderer.AddVolume(self.prop)
        ref = weakref.ref(self)  # the observer must not keep the view (and its voxels) alive

        def before_frame(_renderer: object, _event: str) -> None:
            view = ref()
            if view is not None:
                view.prepare()

        # whoever renders the window (the Qt cell, render(), an export), rays are spaced
        # for the viewport's size at that frame
        self.renderer.AddObserver("StartEvent", before_frame)
        self.interacting = False
        sample = self.data.array.reshape(-1)[:: max(1, self.data.array.size // 10**6)]
        lo, hi = np.percentile(sample, [1, 99])
        self._relative_range = (float(lo), float(max(hi, lo + 1)))
        self.preset = ""
        self.set_preset(preset or default_preset(self.volume))
        self.set_interacting(False)
        self.set_view("anterior")

    def set_range(self, low: float, high: float) -> None:
        """Values that the 0..1 of relative presets (``mip``, ``mr-default``) span.

        Defaults to the 1-99 percentiles of the voxels; the GUI may tie it to
        the window (``level -/+ width/2``).
        """
        if not high > low:
            raise ValueError("the range needs high > low")
        self._relative_range = (float(low), float(high))
        self.set_preset(self.preset)

    def set_preset(self, name: str) -> None:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
        preset = PRESETS[name]
        lo, hi = self._relative_range

        def value(x: float) -> float:  # in the ray caster's voxel values
            return (lo + x * (hi - lo) if preset.relative else x) + self._shift

        opacity = vtkPiecewiseFunction()
        for x, a in preset.opacity:
            opacity.AddPoint(value(x), a)
        colors = vtkColorTransferFunction()
        for x, r, g, b in preset.colors:
            colors.AddRGBPoint(value(x), r, g, b)
        self.property.SetScalarOpacity(opacity)
        self.property.SetColor(colors)
        self.property.SetShade(preset.shade)
        self.property.SetAmbient(0.3)
        self.property.SetDiffuse(0.7)
        self.property.SetSpecular(0.2)
        if preset.mip:
            self.mapper.SetBlendModeToMaximumIntensity()
        else:
            self.mapper.SetBlendModeToComposite()
        self.preset = name
        self._apply_quality()

    def set_interacting(self, interacting: bool) -> None:
        """Reduced frames while the user drags (fewer rays, one sample a voxel, nearest-voxel
        MIP); full quality again with ``False``."""
        self.interacting = interacting
        self._apply_quality()

    def _apply_quality(self) -> None:
        coarse = self.interacting
        self.mapper.SetSampleDistance(INTERACTIVE_STEP if coarse else FULL_STEP)
        # a trilinear MIP sample costs ~3x a nearest one (a MIP ray has no early end); the
        # composite presets end their rays early and gain nothing from it
        if coarse and self.mapper.GetBlendMode() == self.mapper.MAXIMUM_INTENSITY_BLEND:
            self.property.SetInterpolationTypeToNearest()
        else:
            self.property.SetInterpolationTypeToLinear()
        self.prepare()

    def image_sample_distance(self) -> float:
        """Pixels between rays for the next frame: 1 at full quality; while interacting,
        the viewport's longer side over INTERACTIVE_RAYS (at least 2)."""
        if not self.interacting:
            return 1.0
        longest = max(self.renderer.GetSize())
        return max(MIN_INTERACTIVE_SAMPLE_DISTANCE, longest / INTERACTIVE_RAYS)

    def prepare(self) -> None:
        """Bring the ray spacing up to date with the viewport's size (before a frame)."""
        self.mapper.SetImageSampleDistance(self.image_sample_distance())

    def set_view(self, name: str) -> None:
        """Camera from one side of the patient (``anterior`` ...), whole volume framed."""
        dop, up = VIEWS[name]
        corners = volume_corners(self.volume.geometry)
        center = corners.mean(axis=0)
        radius = float(np.linalg.norm(corners - center, axis=1).max())
        cam = self.renderer.GetActiveCamera()
        cam.ParallelProjectionOn()
        cam.SetFocalPoint(*center)
        cam.SetPosition(*(center - 4 * radius * np.asarray(dop)))
        cam.SetViewUp(*up)
        cam.SetParallelScale(radius)
        self.renderer.ResetCameraClippingRange()

    def rotate(self, azimuth: float = 0.0, elevation: float = 0.0) -> None:
        cam = self.renderer.GetActiveCamera()
        cam.Azimuth(azimuth)
        cam.Elevation(elevation)
        cam.OrthogonalizeViewUp()
        self.renderer.ResetCameraClippingRange()

    def render(self) -> None:
        self.window.Render()

    def to_array(self) -> np.ndarray:
        self.render()
        return window_rgb(self.window)

    def save_png(self, path: str | Path) -> Path:
        return save_rgb_png(self.to_array(), path)
