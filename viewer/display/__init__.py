"""Display fitness and calibration: exam type -> display class, the screen check,
the DICOM GSDF (PS3.14), presentation LUTs and display QA (AAPM TG18).

Qt-free except :mod:`viewer.display.screens`, which reads ``QScreen`` (QtGui) on request.
"""
