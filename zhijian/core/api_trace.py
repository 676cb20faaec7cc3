"""API for the trace ledger and webhook deliveries.

- ``GET /api/v1/trace/verify/`` — audit administrators (安全审计员) and leaders: verifying the
  ledger is an audit act, and the answer names only chains, ids and seqs, never content. One object
  (``VerifySerializer``), its texts in Chinese; it also holds the chains against the latest signed
  checkpoint of the anchor file (``core.anchor``).
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

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.settings import api_settings

from . import trace, webhooks
from .api import DisplayModelSerializer, ScopedReadOnlyViewSet
from .filters import IntegerFilter
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
    entry_id = serializers.IntegerField(allow_null=True, help_text=_("损坏的记录ID；整条链或锚定文件的问题为空"))
    chain = serializers.CharField(help_text=_("链名，如 4419:3；锚定文件的问题为空"))
    seq = serializers.IntegerField(allow_null=True, help_text=_("记录序号"))
    code = serializers.CharField(help_text=_("损坏类型代码，如 hash、seq_gap、checkpoint_hash、checkpoint_behind、chain_missing、anchor_signature"))
    problem = serializers.CharField(help_text=_("损坏说明"))


class AnchorCheckpointSerializer(serializers.Serializer):
    source = serializers.CharField(help_text=_("锚定文件名"))
    n = serializers.IntegerField(help_text=_("检查点编号"))
    at = serializers.DateTimeField(help_text=_("检查点时间"))
    chains = serializers.IntegerField(help_text=_("检查点记录的链数"))


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text=_("全部完好时为 true"))
    summary = serializers.CharField(help_text=_("校验结论"))
    checked = serializers.IntegerField(help_text=_("校验的记录数"))
    chains = serializers.IntegerField(help_text=_("校验的链数"))
    anchors = AnchorCheckpointSerializer(many=True, help_text=_("据以核对的最新签名检查点"))
    first_break = BreakSerializer(allow_null=True, help_text=_("第一处损坏"))
    breaks = BreakSerializer(many=True, help_text=_("全部损坏（最多 100 处）"))


class _OneObjectSchema(api_settings.DEFAULT_SCHEMA_CLASS):
    """The report is one object: drf-spectacular would publish a ViewSet's ``list`` as an array."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class TraceVerifyViewSet(viewsets.ViewSet):
    """One read: the ledger's verification report (a router ViewSet so it sits in api_urls)."""

    permission_classes = [IsAuditorOrLeader]
    schema = _OneObjectSchema()

    @extend_schema(
        responses=VerifySerializer,
        parameters=[OpenApiParameter("chain", str, many=True, required=False, description=_("只校验这些链"))],
        description=_("校验留痕链：重算每条记录的哈希与链接，并与锚定文件中最新的签名检查点核对（见 docs/security.md）"),
    )
    def list(self, request):
        chains = request.query_params.getlist("chain") or None
        return Response(VerifySerializer(trace.verify(chains=chains).as_dict()).data)


class DeliverySerializer(DisplayModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "subscription", "event", "event_type", "idempotency_key", "state", "attempts", "next_attempt_at",
            "last_status", "last_error", "delivered_at", "created_at",
        ]


class DeliveryFilter(django_filters.FilterSet):
    # A subscription has no jurisdiction to scope it by: filter on the id, so an unknown id and one
    # whose deliveries the caller cannot see both answer an empty list (never 400 vs 200).
    subscription = IntegerFilter(field_name="subscription_id")

    class Meta:
        model = Delivery
        fields = ["state", "subscription", "event"]


class DeliveryViewSet(ScopedReadOnlyViewSet):
    queryset = Delivery.objects.select_related("event").order_by("-id")
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

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
