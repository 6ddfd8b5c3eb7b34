"""Add and remove RandR 1.5 monitors on a running Xvfb (as ``xrandr --setmonitor`` does).

Xvfb has one output per X screen, but RandR 1.5 lets a client split the screen
into monitors; Qt's xcb plugin makes one QScreen per monitor and follows their
changes (screenAdded/screenRemoved), like plugging a screen in or out.
Talks to the server through libXrandr (Debian libxrandr2) with ctypes.

Usage: ``python xrandr_monitors.py set NAME WxH+X+Y [primary]`` or ``del NAME``
(DISPLAY from the environment).
"""

from __future__ import annotations

import ctypes
import sys


class ScreenResources(ctypes.Structure):
    """The head of XRRScreenResources (Xrandr.h), up to the outputs."""

    _fields_ = [
        ("timestamp", ctypes.c_ulong),
        ("config_timestamp", ctypes.c_ulong),
        ("ncrtc", ctypes.c_int),
        ("crtcs", ctypes.POINTER(ctypes.c_ulong)),
        ("noutput", ctypes.c_int),
        ("outputs", ctypes.POINTER(ctypes.c_ulong)),
    ]


class MonitorInfo(ctypes.Structure):
    """XRRMonitorInfo (Xrandr.h)."""

    _fields_ = [
        ("name", ctypes.c_ulong),
        ("primary", ctypes.c_int),
        ("automatic", ctypes.c_int),
        ("noutput", ctypes.c_int),
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("mwidth", ctypes.c_int),
        ("mheight", ctypes.c_int),
        ("outputs", ctypes.POINTER(ctypes.c_ulong)),
    ]


def main(argv: list[str]) -> int:
    x11 = ctypes.CDLL("libX11.so.6")
    xrr = ctypes.CDLL("libXrandr.so.2")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xrr.XRRAllocateMonitor.restype = ctypes.POINTER(MonitorInfo)
    xrr.XRRAllocateMonitor.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xrr.XRRSetMonitor.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(MonitorInfo)]
    xrr.XRRDeleteMonitor.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    xrr.XRRFreeMonitors.argtypes = [ctypes.POINTER(MonitorInfo)]
    xrr.XRRGetScreenResources.restype = ctypes.POINTER(ScreenResources)
    xrr.XRRGetScreenResources.argtypes = [ctypes.c_void_p, ctypes.c_ulong]

    display = x11.XOpenDisplay(None)
    if not display:
        print("cannot open the X display", file=sys.stderr)
        return 1
    root = x11.XDefaultRootWindow(display)
    atom = x11.XInternAtom(display, argv[2].encode(), 0)
    if argv[1] == "set":
        size, x, y = argv[3].split("+")
        w, h = (int(v) for v in size.split("x"))
        primary = len(argv) > 4
        # the primary monitor takes Xvfb's only output, which removes the automatic
        # whole-screen monitor the server otherwise keeps for it
        monitor = xrr.XRRAllocateMonitor(display, 1 if primary else 0)
        info = monitor.contents
        if primary:
            resources = xrr.XRRGetScreenResources(display, root).contents
            info.outputs[0] = resources.outputs[0]
        info.name, info.primary = atom, 1 if primary else 0
        info.x, info.y, info.width, info.height = int(x), int(y), w, h
        info.mwidth, info.mheight = w * 254 // 960, h * 254 // 960  # 96 dpi
        xrr.XRRSetMonitor(display, root, monitor)
        xrr.XRRFreeMonitors(monitor)
    else:
        xrr.XRRDeleteMonitor(display, root, atom)
    x11.XSync(display, 0)
    x11.XCloseDisplay(display)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
