"""Request rate limits shared by every worker process: public pages and the token endpoint.

The server runs several gunicorn workers and CACHES is Django's per-process memory cache, so the
counters live in the database (``RateCounter``): one atomic upsert per counted request
(``INSERT … ON CONFLICT … DO UPDATE … RETURNING``, SQLite ≥ 3.35 and PostgreSQL alike). Windows are
fixed (a rate "60/min" counts hits in each clock minute); a refused request is told how long to wait
(``Retry-After``, the seconds to the window's end).

- ``RateLimitMiddleware``: paths starting with a prefix in ``settings.RATE_LIMITS`` (the public
  pages ``/p/…`` — draws, inspection results — and any later ``/public/``/``/portal/`` page) are
  counted per client address and answer 429 with a Chinese page (JSON under /api/).
- ``AddressRateThrottle`` subclasses are DRF throttles over the same counters
  (``TokenEndpointThrottle``: ``POST /api/v1/auth/token/``, rate ``auth_token`` in
  ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import exceptions, throttling
from rest_framework.settings import api_settings

from .audit import client_ip
from .models import RateCounter

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """"60/min" → (60, 60); "10/m" → (10, 60); "1000/hour" → (1000, 3600)."""
    count, _sep, unit = rate.partition("/")
    return int(count), PERIODS[unit.strip().lower()]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the window ends (0 when allowed)


def hit(name: str, limit: int, period: int, *, now: float | None = None) -> Verdict:
    """Count one hit of ``name`` in the current window of ``period`` seconds; refused above ``limit``."""
    now = time.time() if now is None else now
    bucket = int(now // period)
    window_end = (bucket + 1) * period
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, bucket, hits, expires) VALUES (%s, %s, 1, %s) "
            f"ON CONFLICT (name, bucket) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits",
            [name[:200], bucket, window_end],
        )
        hits = cursor.fetchone()[0]
    if hits == 1 and random.random() < 0.05:  # noqa: S311 - housekeeping, not security
        RateCounter.objects.filter(expires__lt=int(now) - 60).delete()
    allowed = hits <= limit
    return Verdict(allowed, hits, limit, 0 if allowed else max(1, int(window_end - now + 0.999)))


def limited_message(retry_after: int) -> str:
    return _("访问过于频繁，请 %(s)d 秒后再试。") % {"s": retry_after}


def too_many_requests(request, verdict: Verdict):
    """The 429 answer: a Chinese page, or the API's JSON error shape under /api/."""
    message = limited_message(verdict.retry_after)
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "throttled", "message": message,
                                           "detail": {"retry_after": verdict.retry_after}}}, status=429)
    else:
        response = render(request, "security/429.html", {"reason": message, "status": 429}, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


class RateLimitMiddleware:
    """Counts requests to the paths of ``settings.RATE_LIMITS`` (prefix → rate) per client address."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.rules = [(prefix, *parse_rate(rate)) for prefix, rate in getattr(settings, "RATE_LIMITS", {}).items()]

    def __call__(self, request):
        path = request.path
        for prefix, limit, period in self.rules:
            if path.startswith(prefix):
                verdict = hit(f"path:{prefix}:{client_ip(request) or '-'}", limit, period)
                if not verdict.allowed:
                    return too_many_requests(request, verdict)
                break
        return self.get_response(request)


class RateLimited(exceptions.APIException):
    """429 with a Chinese message; DRF's exception handler adds ``Retry-After`` from ``wait``
    (DRF's own ``Throttled`` appends an English sentence)."""

    status_code = 429
    default_code = "throttled"

    def __init__(self, wait: int):
        self.wait = wait
        super().__init__(limited_message(wait), code=self.default_code)


class AddressRateThrottle(throttling.BaseThrottle):
    """A DRF throttle per client address over the shared counters; the rate is
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``. Views using it raise ``RateLimited``
    (see ``ThrottledInChinese``)."""

    scope = ""

    def allow_request(self, request, view):
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        limit, period = parse_rate(rate)
        self.verdict = hit(f"drf:{self.scope}:{client_ip(request) or '-'}", limit, period)
        return self.verdict.allowed

    def wait(self):
        return self.verdict.retry_after


class TokenEndpointThrottle(AddressRateThrottle):
    scope = "auth_token"


class ThrottledInChinese:
    """View mixin: a refused throttle answers 429 with a Chinese message and ``Retry-After``."""

    def throttled(self, request, wait):
        raise RateLimited(int(wait or 1))
