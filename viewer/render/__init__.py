"""VTK scenes independent of Qt: slice views, MPR, thick slabs, volume rendering, overlays.

Import the submodules you need (``viewer.render.slice_view`` etc.): importing
this package does not load VTK, so ``regard doctor`` can call
:func:`viewer.render.backend.check_backend` before VTK touches OpenGL.
"""
