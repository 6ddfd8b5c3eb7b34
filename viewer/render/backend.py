"""Which OpenGL backend VTK will use, and whether its libraries are there.

The ``vtk`` wheel (9.4+) picks its OpenGL window class at run time: X11/GLX
when ``DISPLAY`` is set, otherwise EGL (then OSMesa). When the chosen
backend's shared libraries are missing it *segfaults* instead of raising
(PLATFORM.md), so every entry point that renders calls :func:`ensure_backend`
first, which raises :class:`BackendError` with a message naming the missing
Debian packages. :func:`check_backend` gives a one-line description for
``regard doctor``.

Offscreen windows are made by :func:`new_render_window`, which instantiates
the checked class directly (``vtkEGLRenderWindow`` ...), so VTK does not
first try X11 and print a warning. The process environment is left alone:
pinning ``VTK_DEFAULT_OPENGL_WINDOW`` would also send a Qt-hosted window
created later under X11 to EGL (garbage on screen).
"""

from __future__ import annotations

import ctypes
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_ENV = "VTK_DEFAULT_OPENGL_WINDOW"
_X11 = "vtkXOpenGLRenderWindow"
_EGL = "vtkEGLRenderWindow"
_OSMESA = "vtkOSOpenGLRenderWindow"

_EGL_VENDOR_DIRS = ("/usr/share/glvnd/egl_vendor.d", "/etc/glvnd/egl_vendor.d")
_DRI_DIRS = (
    "/usr/lib/x86_64-linux-gnu/dri",
    "/usr/lib/aarch64-linux-gnu/dri",
    "/usr/lib64/dri",
    "/usr/lib/dri",
)


class BackendError(RuntimeError):
    """The OpenGL libraries VTK needs for offscreen rendering are missing."""


@dataclass
class BackendStatus:
    """Outcome of the library check: the window class VTK will use, or why none works."""

    window_class: str | None
    description: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.window_class is not None


def _loadable(*names: str) -> str | None:
    """First shared library of ``names`` that ``dlopen`` accepts, else None."""
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    return None


def _egl_problems() -> list[str]:
    problems = []
    if _loadable("libEGL.so.1") is None:
        problems.append("libEGL.so.1 not loadable (Debian: libegl1)")
    vendors = [p for d in _EGL_VENDOR_DIRS if Path(d).is_dir() for p in Path(d).glob("*.json")]
    if os.environ.get("__EGL_VENDOR_LIBRARY_FILENAMES"):
        vendors.append(Path(os.environ["__EGL_VENDOR_LIBRARY_FILENAMES"]))
    if not vendors or _loadable("libEGL_mesa.so.0", "libEGL_nvidia.so.0") is None:
        problems.append("no EGL vendor library (Debian: libegl-mesa0)")
    drivers = [d for d in _DRI_DIRS if Path(d, "swrast_dri.so").exists()]
    has_gpu = Path("/dev/dri").is_dir() or Path("/dev/nvidia0").exists()
    if not drivers and not has_gpu:
        problems.append("no Mesa DRI driver swrast_dri.so (Debian: libgl1-mesa-dri)")
    return problems


def _x11_problems() -> list[str]:
    problems = []
    if _loadable("libGL.so.1") is None:
        problems.append("libGL.so.1 not loadable (Debian: libgl1)")
    if _loadable("libX11.so.6") is None:
        problems.append("libX11.so.6 not loadable (Debian: libx11-6)")
    display = os.environ.get("DISPLAY", "")
    if display.startswith(":"):
        number = display[1:].split(".")[0]
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            problems.append(f"no X server socket for DISPLAY={display}")
    return problems


def backend_status(offscreen: bool = True) -> BackendStatus:
    """Decide which OpenGL window class to use and check its libraries.

    Honours an explicit ``VTK_DEFAULT_OPENGL_WINDOW``. Offscreen rendering
    (snapshots, tests) prefers EGL, then OSMesa, then X11 if ``DISPLAY`` is
    set: an offscreen GLX window needs no screen, and destroying one after
    another has rendered crashed VTK 9.7 under Xvfb here. On-screen windows
    (``offscreen=False``) follow VTK's own order: X11 when ``DISPLAY`` is
    set, else EGL, else OSMesa.
    """
    forced = os.environ.get(_ENV)
    if sys.platform != "linux":
        return BackendStatus(forced or "native", f"{sys.platform} native OpenGL")
    candidates: list[str]
    has_display = bool(os.environ.get("DISPLAY"))
    if forced:
        candidates = [forced]
    elif offscreen:
        candidates = [_EGL, _OSMESA] + ([_X11] if has_display else [])
    elif has_display:
        candidates = [_X11, _EGL, _OSMESA]
    else:
        candidates = [_EGL, _OSMESA]
    problems: list[str] = []
    for cls in candidates:
        if cls == _X11:
            found = _x11_problems()
            what = f"X11/GLX on DISPLAY={os.environ.get('DISPLAY', '')}"
        elif cls == _EGL:
            found = _egl_problems()
            what = "EGL offscreen (Mesa)"
        elif cls == _OSMESA:
            found = [] if _loadable("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so") else [
                "libOSMesa not loadable (Debian: libosmesa6)"
            ]
            what = "OSMesa offscreen"
        else:
            found, what = [], cls
        if not found:
            return BackendStatus(cls, f"{what} ({cls})", problems)
        problems.extend(f"{cls}: {p}" for p in found)
    return BackendStatus(None, "no usable OpenGL backend for VTK", problems)


def check_backend(offscreen: bool = True) -> str:
    """One-line description of the backend VTK will use; raises :class:`BackendError` if none."""
    status = backend_status(offscreen)
    if not status.ok:
        raise BackendError(
            "VTK cannot render here (it would crash): " + "; ".join(status.problems)
            + ". Install: libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri (or run ./run setup)"
        )
    return status.description


def ensure_backend(offscreen: bool = True) -> str:
    """Check the backend before any VTK rendering; raises :class:`BackendError` if none."""
    return check_backend(offscreen)


def new_render_window(size: tuple[int, int] = (512, 512), offscreen: bool = True) -> Any:
    """A render window of the checked backend's class (raises :class:`BackendError` first)."""
    check_backend(offscreen)
    import vtkmodules.vtkRenderingOpenGL2 as gl
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    cls = getattr(gl, backend_status(offscreen).window_class or "", None)
    window = cls() if cls is not None and not os.environ.get(_ENV) else vtkRenderWindow()
    window.SetOffScreenRendering(1 if offscreen else 0)
    window.SetMultiSamples(0)
    window.SetSize(int(size[0]), int(size[1]))
    log.debug("render window %s", window.GetClassName())
    return window


_PROBE = """
import sys
import vtkmodules.vtkRenderingOpenGL2 as gl
from vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkRenderer, vtkWindowToImageFilter
from vtkmodules.util.numpy_support import vtk_to_numpy
cls = getattr(gl, sys.argv[1], None)
w = cls() if cls is not None else vtkRenderWindow()
w.SetOffScreenRendering(1); w.SetSize(8, 8)
r = vtkRenderer(); r.SetBackground(1.0, 0.0, 0.0); w.AddRenderer(r); w.Render()
f = vtkWindowToImageFilter(); f.SetInput(w); f.Update()
a = vtk_to_numpy(f.GetOutput().GetPointData().GetScalars())
print(w.GetClassName(), int(a[:, 0].min()), int(a[:, 1].max()))
"""


def probe_render(timeout: float = 60.0) -> str:
    """Render one tiny frame in a child process (a crash there cannot kill us).

    Returns the window class that rendered; raises :class:`BackendError` when
    the child crashes, hangs or renders wrong pixels. Used by ``regard doctor``.
    """
    cls = backend_status().window_class or ""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, cls], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise BackendError(f"VTK test render hung for {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackendError(f"VTK test render failed (exit {done.returncode}): {tail}")
    fields = done.stdout.split()
    if len(fields) != 3 or int(fields[1]) < 250 or int(fields[2]) > 5:
        raise BackendError(f"VTK test render gave wrong pixels: {done.stdout.strip()}")
    return fields[0]
