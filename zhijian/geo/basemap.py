"""The base map every map page takes from settings (docs/geo.md, "Base map")."""
from __future__ import annotations

from django.conf import settings


def tile_config() -> dict:
    """Keys for a page's map configuration (read by static/geo/basemap.js): the tile URL
    (ZHIJIAN_TILE_URL; empty means no tiles and division names drawn instead), an optional label
    layer over it, the values of {s}, the attribution and the highest zoom the tiles have."""
    return {"tileUrl": settings.TILE_URL, "tileLabelUrl": settings.TILE_LABEL_URL, "tileSubdomains": settings.TILE_SUBDOMAINS,
            "tileAttribution": settings.TILE_ATTRIBUTION, "tileMaxZoom": settings.TILE_MAX_ZOOM}
