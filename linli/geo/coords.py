"""WGS-84 ⇄ GCJ-02 ("Mars coordinates", used by Chinese base maps) at the map edge.

linli stores WGS-84 / CGCS2000; GCJ-02 exists only where a map or a phone SDK speaks it.
The forward transform is the publicly known formula on the Krasovsky ellipsoid; the
inverse has no closed form and is solved by fixed-point iteration (the transform is close
to a translation, so each step gains several orders of magnitude; 1e-9° ≈ 0.1 mm).
Points outside the rough China box are returned unchanged, as the map providers do.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# Krasovsky 1940 ellipsoid, as used by GCJ-02.
_A = 6378245.0
_EE = 0.00669342162296594323
_PI = math.pi
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_STEPS = 30

FloatArray = npt.NDArray[np.float64]


def out_of_china(lon: float, lat: float) -> bool:
    """True outside the rectangle where GCJ-02 applies (coordinates are then unchanged)."""
    return not (_CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1])


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (lon, lat)."""
    x, y = lon - 105.0, lat - 35.0
    sx, ax = math.sqrt(abs(x)), x * _PI
    common = (20.0 * math.sin(6.0 * ax) + 20.0 * math.sin(2.0 * ax)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    d_lat += (20.0 * math.sin(y * _PI) + 40.0 * math.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * _PI) + 320.0 * math.sin(y * _PI / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    d_lon += (20.0 * math.sin(ax) + 40.0 * math.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * _PI) + 300.0 * math.sin(x / 30.0 * _PI)) * 2.0 / 3.0
    rad = lat / 180.0 * _PI
    magic = 1.0 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * _PI)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * _PI)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 lon/lat → GCJ-02 lon/lat."""
    if out_of_china(lon, lat):
        return lon, lat
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 lon/lat → WGS-84 lon/lat, iterated until the forward transform matches."""
    if out_of_china(lon, lat):
        return lon, lat
    w_lon, w_lat = lon, lat
    for _ in range(_INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if abs(e_lon) < _INVERSE_TOLERANCE_DEG and abs(e_lat) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


def _out_of_china_array(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    inside = (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1])
    inside &= (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])
    return ~inside


def _offset_array(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, y = lon - 105.0, lat - 35.0
    sx, ax = np.sqrt(np.abs(x)), x * _PI
    common = (20.0 * np.sin(6.0 * ax) + 20.0 * np.sin(2.0 * ax)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    d_lat += (20.0 * np.sin(y * _PI) + 40.0 * np.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * _PI) + 320.0 * np.sin(y * _PI / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    d_lon += (20.0 * np.sin(ax) + 40.0 * np.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * _PI) + 300.0 * np.sin(x / 30.0 * _PI)) * 2.0 / 3.0
    rad = lat / 180.0 * _PI
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * _PI)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * _PI)
    return d_lon, d_lat


def wgs84_to_gcj02_array(lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`wgs84_to_gcj02` (same results, element by element)."""
    lon = np.asarray(lons, dtype=np.float64)
    lat = np.asarray(lats, dtype=np.float64)
    d_lon, d_lat = _offset_array(lon, lat)
    keep = _out_of_china_array(lon, lat)
    return np.where(keep, lon, lon + d_lon), np.where(keep, lat, lat + d_lat)


def gcj02_to_wgs84_array(lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`gcj02_to_wgs84`."""
    lon = np.asarray(lons, dtype=np.float64)
    lat = np.asarray(lats, dtype=np.float64)
    keep = _out_of_china_array(lon, lat)
    w_lon, w_lat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02_array(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon -= e_lon
        w_lat -= e_lat
        # NaN inputs never converge; they must not keep the loop running.
        if not (np.any(np.abs(e_lon) >= _INVERSE_TOLERANCE_DEG) or np.any(np.abs(e_lat) >= _INVERSE_TOLERANCE_DEG)):
            break
    return np.where(keep, lon, w_lon), np.where(keep, lat, w_lat)
