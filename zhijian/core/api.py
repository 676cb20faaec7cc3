"""API base pieces: pagination, one error format, the scoped viewset base."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from .errors import ApplicationError


def exception_handler(exc, context):
    """Every error leaves the API as ``{"error": {"code", "message", "detail"}}``."""
    if isinstance(exc, ApplicationError):
        return Response({"error": {"code": exc.code, "message": str(exc.message), "detail": exc.extra}}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    message = detail.get("detail") if isinstance(detail, dict) and "detail" in detail else str(getattr(exc, "default_detail", "error"))
    response.data = {"error": {"code": code, "message": str(message), "detail": detail if not (isinstance(detail, dict) and set(detail) == {"detail"}) else {}}}
    return response


class ReasonInput(serializers.Serializer):
    """The body of a step that needs a reason (return, refuse, cancel …)."""

    reason = serializers.CharField(max_length=500)


class ScopedViewSetMixin:
    """Querysets come through ``.scoped(request.user)``: out-of-scope objects are a 404."""

    def get_queryset(self):
        return super().get_queryset().scoped(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
