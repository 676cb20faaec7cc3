"""API: the audit log (audit administrator, read-only) and token acquisition."""
from __future__ import annotations

from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer

from .filters import AuditLogFilter
from .models import AuditLog
from .roles import is_audit_admin
from . import services


class IsAuditAdmin(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_audit_admin(request.user)


class AuditLogSerializer(DisplayModelSerializer):
    event_display = serializers.CharField(source="get_event_display", read_only=True)

    class Meta:
        model = AuditLog
        fields = ["id", "created_at", "user", "username", "ip", "event", "event_display", "outcome", "object_type",
                  "object_id", "object_repr", "detail"]
        read_only_fields = fields


class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log. Read-only for everyone; only the audit administrator may list it."""

    queryset = AuditLog.objects.all()
    serializer_class = AuditLogSerializer
    permission_classes = [IsAuditAdmin]
    filterset_class = AuditLogFilter


class TokenObtainViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Exchange username, password and the current TOTP code for an API token. Failed attempts
    count towards the same lockout as the login page."""

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
        otp = serializers.CharField(required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    serializer_class = InputSerializer

    def create(self, request, *args, **kwargs):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_obtain(request=request._request, **data.validated_data)
        return Response(self.OutputSerializer({"token": token.key}).data)


def register(router):
    router.register("audit-log", AuditLogViewSet, basename="audit-log")
    router.register("auth/token", TokenObtainViewSet, basename="auth-token")
