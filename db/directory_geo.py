"""Distances on the Earth for "nearest to me": haversine, and the bounding box that prefilters rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_KM / 180


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def bounding_box(lat: float, lon: float, radius_km: float) -> Box:
    """A latitude/longitude box that contains every point within radius_km of (lat, lon).

    Near a pole, or when the box would cross the 180th meridian, it widens to all
    longitudes: still correct, only less selective (nowhere near Kazakhstan).
    """
    d_lat = radius_km / KM_PER_DEGREE_LATITUDE
    min_lat, max_lat = max(-90.0, lat - d_lat), min(90.0, lat + d_lat)
    cos_lat = min(math.cos(math.radians(min_lat)), math.cos(math.radians(max_lat)))
    if cos_lat <= 1e-6:
        return Box(min_lat, max_lat, -180.0, 180.0)
    d_lon = radius_km / (KM_PER_DEGREE_LATITUDE * cos_lat)
    if d_lon >= 180 or lon - d_lon < -180 or lon + d_lon > 180:
        return Box(min_lat, max_lat, -180.0, 180.0)
    return Box(min_lat, max_lat, lon - d_lon, lon + d_lon)
