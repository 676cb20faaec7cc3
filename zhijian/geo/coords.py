"""Coordinate systems. Zhijian stores every position in **GCJ-02** (国测局坐标, the offset system of
AMap, Tencent maps and the DataV outlines). Phones report GPS positions in WGS-84; Baidu uses BD-09.
Convert before storing or before point-in-polygon tests. Offsets are a few hundred metres.

The GCJ-02 transform is the publicly known approximation (accurate to well under a metre);
outside mainland China it is the identity, as in the official implementation.
"""
from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lng: float, lat: float) -> bool:
    """The rough rectangle in which GCJ-02 applies an offset."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _delta(lng: float, lat: float) -> tuple[float, float]:
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlng, dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """A phone's GPS position (WGS-84) → the GCJ-02 position Zhijian stores."""
    if out_of_china(lng, lat):
        return lng, lat
    dlng, dlat = _delta(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Inverse of :func:`wgs84_to_gcj02` by fixed-point iteration (error < 1e-7°)."""
    if out_of_china(lng, lat):
        return lng, lat
    wlng, wlat = lng, lat
    for _ in range(30):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        dx, dy = glng - lng, glat - lat
        wlng, wlat = wlng - dx, wlat - dy
        if abs(dx) < 1e-9 and abs(dy) < 1e-9:
            break
    return wlng, wlat


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """A Baidu-map position (BD-09) → GCJ-02."""
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def to_gcj02(lng: float, lat: float, system: str) -> tuple[float, float]:
    """Convert from ``system`` ("wgs84", "gcj02" or "bd09") to GCJ-02."""
    system = (system or "gcj02").lower().replace("-", "")
    if system == "gcj02":
        return lng, lat
    if system == "wgs84":
        return wgs84_to_gcj02(lng, lat)
    if system == "bd09":
        return bd09_to_gcj02(lng, lat)
    raise ValueError(f"unknown coordinate system {system!r}")
