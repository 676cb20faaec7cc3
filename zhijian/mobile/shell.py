"""The app shell the service worker caches: its static files and a version that changes with them."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static

# Static files the page needs to start without a network (relative to STATIC_URL).
SHELL_STATIC = (
    "zhijian/site.css",
    "mobile/mobile.css",
    "mobile/store.js",
    "mobile/signature.js",
    "mobile/app.js",
    "mobile/icon.svg",
    "mobile/icon-192.png",
    "mobile/icon-512.png",
)
TEMPLATES = Path(__file__).resolve().parent / "templates" / "mobile"


def static_urls() -> list[str]:
    return [static(name) for name in SHELL_STATIC]


def version() -> str:
    """A digest of every shell file and the page template: a new release installs a new cache.
    Computed once per process, except in DEBUG where files change under the developer."""
    if settings.DEBUG:
        return _digest()
    return _cached_digest()


@lru_cache(maxsize=1)
def _cached_digest() -> str:
    return _digest()


def _digest() -> str:
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = finders.find(name)
        digest.update(name.encode())
        digest.update(Path(path).read_bytes() if path else b"missing")
    for template in sorted(TEMPLATES.iterdir()):
        digest.update(template.read_bytes())
    return digest.hexdigest()[:16]
