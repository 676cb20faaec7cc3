"""API: the audit log (audit administrator, read-only) and token acquisition and rotation."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer

from .filters import AuditLogFilter
from .choices import TokenScope
from .models import ApiToken, AuditLog
from .ratelimit import ThrottledInChinese, TokenEndpointThrottle
from .roles import is_audit_admin
from .tokens import ApiTokenAuthentication, key_hash
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


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="接口令牌（只显示这一次，系统只保存其摘要）")
    scope = serializers.ChoiceField(choices=TokenScope.choices)
    expires_at = serializers.DateTimeField()


def _token_answer(key: str) -> Response:
    token = ApiToken.objects.get(key_hash=key_hash(key))
    return Response(TokenOutputSerializer({"token": key, "scope": token.scope, "expires_at": token.expires_at}).data)


class TokenObtainViewSet(ThrottledInChinese, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Exchange username, password and the current TOTP code for a new API token (shown once;
    it expires after API_TOKEN_DAYS). Failed attempts count towards the same lockout as the login
    page; the endpoint allows a few calls per minute per address (429 with Retry-After)."""

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False, max_length=4096)
        otp = serializers.CharField(required=False, allow_blank=True, default="", max_length=16)
        scope = serializers.ChoiceField(choices=TokenScope.choices, required=False, default=TokenScope.WRITE)
        integrator = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [TokenEndpointThrottle]
    serializer_class = InputSerializer

    @extend_schema(request=InputSerializer, responses=TokenOutputSerializer)
    def create(self, request, *args, **kwargs):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.token_obtain(request=request._request, **data.validated_data)
        return _token_answer(key)

    @extend_schema(request=None, responses=TokenOutputSerializer)
    @action(detail=False, methods=["post"], authentication_classes=[ApiTokenAuthentication],
            permission_classes=[permissions.IsAuthenticated], throttle_classes=[TokenEndpointThrottle])
    def rotate(self, request):
        """Rotate the token this call is made with: a new key (shown once) with the same scope and
        a fresh validity; the old key keeps working for API_TOKEN_ROTATION_GRACE_MINUTES."""
        key = services.rotate_token(actor=request.user, token=request.auth)
        return _token_answer(key)

    rotate.token_scope_exempt = True

    @extend_schema(request=None, responses={204: None})
    @action(detail=False, methods=["post"], authentication_classes=[ApiTokenAuthentication],
            permission_classes=[permissions.IsAuthenticated], throttle_classes=[TokenEndpointThrottle])
    def revoke(self, request):
        """Revoke the token this call is made with (an integrator retiring its key)."""
        services.revoke_token(actor=request.user, token=request.auth)
        return Response(status=204)

    revoke.token_scope_exempt = True


def register(router):
    router.register("audit-log", AuditLogViewSet, basename="audit-log")
    router.register("auth/token", TokenObtainViewSet, basename="auth-token")
