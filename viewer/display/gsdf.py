"""DICOM Grayscale Standard Display Function (PS3.14).

The GSDF (PS3.14 section 7, equation 7-1) gives the luminance ``L`` (cd/m2) of
each Just-Noticeable-Difference index ``j`` in 1..1023 (0.05 to 3993.4 cd/m2)
as a rational polynomial in ``ln(j)``. PS3.14 also gives an approximate
inverse, a polynomial in ``log10(L)`` (equation 7-2); it is off by ~0.03 JND
near 0.05 cd/m2, so :func:`jnd_index` refines it with Newton steps on the
forward function and agrees with PS3.14 Table B-1 both ways.
:func:`jnd_index_polynomial` keeps the standard's formula as printed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

JND_MIN = 1.0
JND_MAX = 1023.0

# PS3.14 equation 7-1
_A, _B, _C, _D, _E = -1.3011877, -2.5840191e-2, 8.0242636e-2, -1.0320229e-1, 1.3646699e-1
_F, _G, _H, _K, _M = 2.8745620e-2, -2.5468404e-2, -3.1978977e-3, 1.2992634e-4, 1.3635334e-3
# PS3.14 equation 7-2, coefficients of y^0 .. y^8
_INV = (
    71.498068,
    94.593053,
    41.912053,
    9.8247004,
    0.28175407,
    -1.1878455,
    -0.18014349,
    0.14710899,
    -0.017046845,
)

L_MIN = 0.05
L_MAX = 3993.4


def luminance(j: ArrayLike) -> NDArray[np.float64] | float:
    """Luminance in cd/m2 of JND index ``j`` (PS3.14 eq. 7-1). Scalars give a float."""
    jj = np.asarray(j, dtype=np.float64)
    x = np.log(jj)
    num = _A + x * (_C + x * (_E + x * (_G + x * _M)))
    den = 1.0 + x * (_B + x * (_D + x * (_F + x * (_H + x * _K))))
    out = np.power(10.0, num / den)
    return float(out) if out.ndim == 0 else out


def _dlog10l_dj(j: NDArray[np.float64]) -> NDArray[np.float64]:
    """Derivative of log10 L with respect to j (for Newton refinement)."""
    x = np.log(j)
    num = _A + x * (_C + x * (_E + x * (_G + x * _M)))
    den = 1.0 + x * (_B + x * (_D + x * (_F + x * (_H + x * _K))))
    dnum = _C + x * (2 * _E + x * (3 * _G + x * 4 * _M))
    dden = _B + x * (2 * _D + x * (3 * _F + x * (4 * _H + x * 5 * _K)))
    return (dnum * den - num * dden) / (den * den) / j


def jnd_index_polynomial(lum: ArrayLike) -> NDArray[np.float64] | float:
    """JND index of luminance ``lum`` by the standard's polynomial (PS3.14 eq. 7-2)."""
    y = np.log10(np.asarray(lum, dtype=np.float64))
    out = np.zeros_like(y)
    for coef in reversed(_INV):
        out = out * y + coef
    return float(out) if out.ndim == 0 else out


def jnd_index(lum: ArrayLike) -> NDArray[np.float64] | float:
    """JND index of luminance ``lum`` (cd/m2), exact inverse of :func:`luminance`.

    Starts from PS3.14 eq. 7-2 and refines with Newton steps on eq. 7-1, so
    ``luminance(jnd_index(L)) == L`` to machine precision. Luminances outside
    0.05..3993.4 cd/m2 are extrapolated (the GSDF is not defined there).
    """
    arr = np.asarray(lum, dtype=np.float64)
    if np.any(arr <= 0):
        raise ValueError("luminance must be positive (cd/m2)")
    target = np.log10(arr)
    j = np.clip(np.asarray(jnd_index_polynomial(arr), dtype=np.float64), 0.5, 1100.0)
    for _ in range(6):
        current = np.log10(np.asarray(luminance(j)))
        j = j - (current - target) / _dlog10l_dj(j)
    return float(j) if j.ndim == 0 else j


def contrast_per_jnd(j_low: ArrayLike, j_high: ArrayLike) -> NDArray[np.float64] | float:
    """GSDF contrast per JND between two JND indices: (dL / L_mean) / dj (AAPM TG18 4.3.3)."""
    lo = np.asarray(luminance(j_low))
    hi = np.asarray(luminance(j_high))
    dj = np.asarray(j_high, dtype=np.float64) - np.asarray(j_low, dtype=np.float64)
    out = 2.0 * (hi - lo) / (hi + lo) / dj
    return float(out) if np.ndim(out) == 0 else out
