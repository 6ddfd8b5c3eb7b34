"""The reading station (PySide6): main window, study browser, viewport grid, tools.

Thin by design: state and tool arithmetic live in the Qt-free
:mod:`viewer.ui.models`; pixels come from the VTK scenes of
:mod:`viewer.render`; DICOM and network logic stay in :mod:`viewer.dicom` and
:mod:`viewer.archive`. Importing this package imports neither Qt nor VTK.
"""
