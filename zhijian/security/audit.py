"""Writing audit entries. Every security-relevant event goes through ``record``.

The current request (set by ``RequestContextMiddleware``) supplies the IP address and the user
when a caller does not pass them, so services need only say what happened.
"""
from __future__ import annotations

import contextvars
import logging

from django.db import models

from .choices import AuditEvent, AuditOutcome
from .models import AuditLog

logger = logging.getLogger(__name__)

current_request: contextvars.ContextVar = contextvars.ContextVar("zhijian_current_request", default=None)


def client_ip(request) -> str | None:
    """The client's address. REMOTE_ADDR only: X-Forwarded-For is trivially forged unless the
    reverse proxy overwrites it, and then the proxy should set REMOTE_ADDR (e.g. gunicorn
    ``--forwarded-allow-ips``)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def current_user():
    request = current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def record(
    event: AuditEvent | str,
    *,
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    user=None,
    username: str | None = None,
    request=None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    detail: dict | None = None,
) -> AuditLog:
    """Append one audit entry. ``user``/``request`` default to the current request's."""
    request = request if request is not None else current_request.get()
    if user is None and request is not None:
        u = getattr(request, "user", None)
        user = u if u is not None and u.is_authenticated else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    return AuditLog.objects.create(
        user=user if user is not None and user.pk else None,
        username=(username if username is not None else (user.get_username() if user is not None else ""))[:150],
        ip=client_ip(request),
        event=event,
        outcome=outcome,
        object_type=object_type[:100],
        object_id=str(object_id)[:64],
        object_repr=str(object_repr)[:200],
        detail=detail or {},
    )
