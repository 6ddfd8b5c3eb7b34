"""VTK scenes independent of Qt: slice views, MPR, thick slabs, volume rendering, overlays.

Import the submodules you need: importing this package does not load VTK, so
``regard doctor`` can call :func:`viewer.render.backend.check_backend` before
VTK touches OpenGL.

API at a glance (all coordinates in patient LPS mm unless said otherwise):

* :mod:`~viewer.render.backend` -- ``check_backend() -> str`` (raises
  ``BackendError`` naming the missing Debian packages instead of letting VTK
  segfault), ``probe_render()`` (one frame in a child process),
  ``new_render_window(size)`` (offscreen window of the checked class).
* :mod:`~viewer.render.planes` -- ``Plane(point, right, up)`` with ``normal``,
  ``edge_labels()``; ``make_plane(name, point, geometry, normal=None)`` for
  axial / coronal / sagittal / acquisition (radiological conventions) and
  oblique planes (the named plane tilted onto ``normal``).
* :mod:`~viewer.render.image` -- ``VolumeImage(volume)``: zero-copy
  vtkImageData in voxel index space, shared by several views; unevenly spaced
  stacks are resampled once at their true slice positions.
* :mod:`~viewer.render.slice_view` -- ``SliceView(volume_or_image,
  render_window=None, viewport=(0, 0, 1, 1), size=(w, h), plane="axial",
  overlay=True)`` with ``set_plane(name | Plane | (origin, normal, up),
  normal=None)``, ``set_point(lps)``, ``scroll(steps)``, ``set_window(width,
  level)``, ``set_slab(mm, "mip" | "minip" | "mean")``, ``set_zoom``,
  ``set_pan(du_mm, dv_mm)``, ``zoom_at(xy, factor)``, ``pan_by(dx, dy)``,
  ``pick(xy) -> lps`` and ``to_display(lps) -> xy`` (window pixels, origin
  top-left), ``set_interpolation``, ``set_corner_text``, ``set_crosshair``,
  ``set_overlay_visible``, ``set_interacting(bool)`` (cheap while dragging),
  ``prepare()`` (call before the host renders the window), ``render()``,
  ``slice_array()`` (values as shown, row 0 on top), ``to_array()`` /
  ``save_png()`` (RGB of its viewport).
* :mod:`~viewer.render.mpr` -- ``MPRScene(volume, render_windows=None |
  {"axial": w, "coronal": w, "sagittal": w})``: linked point, colour
  crosshair, ``click(view, xy)``, ``scroll(view, steps)``, ``rotate(view,
  degrees)`` (oblique MPR), ``align_to(normal)``, ``reset_orientation()``.
* :mod:`~viewer.render.volume_rendering` -- ``VolumeRenderView(volume,
  render_window=None, preset=None)``: CPU ray casting, presets ``ct-bone``,
  ``ct-soft-tissue``, ``ct-lung``, ``mip``, ``mr-default``;
  ``set_interacting(True)`` while dragging; ``set_view("anterior" ...)``.
* :mod:`~viewer.render.overlay` -- cached-texture text (``TextureCache``,
  ``OverlayLayer``) drawn as 2-D actors: no VTK text actors.
* :mod:`~viewer.render.windowing` -- ``voi_linear`` (PS3.3 C.11.2.1.2),
  ``default_window(volume)``.
* :mod:`~viewer.render.snapshot` -- ``render_snapshot(volume, request, out)``
  used by ``regard render``.
"""
