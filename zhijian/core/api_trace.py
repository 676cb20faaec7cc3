"""API for the trace ledger and webhook deliveries.

- ``GET /api/v1/trace/verify/`` — audit administrators (安全审计员) and leaders: verifying the
  ledger is an audit act, and the answer names only chains, ids and seqs, never content.
- ``GET /api/v1/trace/entries/?object_type=&object_id=`` — anyone signed in sees the entries in
  their jurisdiction (an object's history is shown where the object is); audit administrators,
  who see no business data (三员分立), read the whole ledger: it holds who/what/when and digests,
  not the records themselves.
- ``GET /api/v1/deliveries/`` — who was told what, and did it arrive: business users see the
  deliveries of events in their jurisdiction; system administrators, who run the integrations
  but see no business data, see all of them. The event payload is never exposed here.
- ``POST /api/v1/deliveries/{id}/replay/`` — system administrators only.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from . import trace, webhooks
from .api import DisplayModelSerializer, ScopedReadOnlyViewSet
from .models import Delivery, TraceEntry


class IsAuditorOrLeader(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or user.has_role("audit_admin", "leader")))


class IsSystemAdmin(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or user.has_role("system_admin")))


class TraceEntrySerializer(DisplayModelSerializer):
    class Meta:
        model = TraceEntry
        fields = [
            "id", "chain", "seq", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id",
            "division_code", "before_digest", "after_digest", "prev_hash", "hash", "kid", "signature",
        ]


class TraceEntryViewSet(ScopedReadOnlyViewSet):
    queryset = TraceEntry.objects.all()
    serializer_class = TraceEntrySerializer
    filterset_fields = ["object_type", "object_id", "action", "chain", "actor_id"]

    def get_queryset(self):
        user = self.request.user
        if user.is_superuser or user.has_role("audit_admin"):
            return TraceEntry.objects.all()
        return super().get_queryset()


class BreakSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField(allow_null=True)
    chain = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    chains = serializers.IntegerField()
    first_break = BreakSerializer(allow_null=True)
    breaks = BreakSerializer(many=True)


class TraceVerifyViewSet(viewsets.ViewSet):
    """One read: the ledger's verification report (a router ViewSet so it sits in api_urls)."""

    permission_classes = [IsAuditorOrLeader]

    @extend_schema(
        responses=VerifySerializer,
        parameters=[OpenApiParameter("chain", str, many=True, required=False, description="只校验这些链")],
    )
    def list(self, request):
        chains = request.query_params.getlist("chain") or None
        return Response(trace.verify(chains=chains).as_dict())


class DeliverySerializer(DisplayModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "subscription", "event", "event_type", "idempotency_key", "state", "attempts", "next_attempt_at",
            "last_status", "last_error", "delivered_at", "created_at",
        ]


class DeliveryViewSet(ScopedReadOnlyViewSet):
    queryset = Delivery.objects.select_related("event").order_by("-id")
    serializer_class = DeliverySerializer
    filterset_fields = ["state", "subscription", "event"]

    def get_queryset(self):
        if IsSystemAdmin().has_permission(self.request, self):
            return Delivery.objects.select_related("event").order_by("-id")
        return super().get_queryset()

    @extend_schema(request=None, responses=DeliverySerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = self.get_object()  # out of scope: 404 before anything else
        if not IsSystemAdmin().has_permission(request, self):
            raise PermissionDenied()
        delivery = webhooks.delivery_replay(delivery=delivery, actor=request.user)
        return Response(DeliverySerializer(delivery).data)


def register(router):
    router.register("trace/entries", TraceEntryViewSet, basename="trace-entry")
    router.register("trace/verify", TraceVerifyViewSet, basename="trace-verify")
    router.register("deliveries", DeliveryViewSet)
