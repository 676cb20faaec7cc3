"""Draw API: plans and draws in the caller's jurisdiction; POST actions commit, execute and void.

A plan has one live draw: a second commit answers 409 naming the live draw; a draw is executed
once; the approving role voids a draw with a reason (``POST /draws/{id}/void/``)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer, ReasonInput, ScopedReadOnlyViewSet

from . import services
from .models import Draw, DrawPlan


class PlanSerializer(DisplayModelSerializer):
    ratios = serializers.SerializerMethodField()

    class Meta:
        model = DrawPlan
        fields = ["id", "name", "bureau", "period", "business_lines", "check_items", "division_code", "industry_prefixes",
                  "entity_types", "statuses", "inspectors_per_entity", "publicity_rule", "ratios", "created_at"]

    def get_ratios(self, obj) -> dict:
        return {r.risk_class: str(r.percent) for r in obj.ratios.all()}


class DrawSerializer(DisplayModelSerializer):
    seed = serializers.CharField(source="revealed_seed", read_only=True)
    predecessor_public_id = serializers.CharField(source="predecessor.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Draw
        fields = ["id", "public_id", "plan", "state", "seed_sha256", "seed", "params", "files", "recusal_sha256",
                  "pool_size", "selected_count", "created_at", "executed_at", "void_reason", "voided_by", "voided_at",
                  "predecessor", "predecessor_public_id"]


class DrawPlanViewSet(ScopedReadOnlyViewSet):
    """Draw plans; ``POST …/{id}/commit/`` freezes the pools and publishes the seed's SHA-256."""

    queryset = DrawPlan.objects.select_related("bureau").prefetch_related("ratios").order_by("-id")
    serializer_class = PlanSerializer

    @extend_schema(request=None, responses={201: DrawSerializer})
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        draw = services.draw_commit(actor=request.user, plan=self.get_object())
        return Response(DrawSerializer(draw).data, status=201)


class DrawViewSet(ScopedReadOnlyViewSet):
    """Draws; ``POST …/{id}/execute/`` reveals the seed and draws; ``POST …/{id}/void/`` voids it."""

    queryset = Draw.objects.select_related("plan", "predecessor").order_by("-id")
    serializer_class = DrawSerializer

    @extend_schema(request=None, responses=DrawSerializer)
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        draw = services.draw_execute(actor=request.user, draw=self.get_object())
        return Response(DrawSerializer(draw).data)

    @extend_schema(request=ReasonInput, responses=DrawSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        """Void the draw (the approving role, with a reason): shown on the public page; the plan may be drawn again."""
        draw = self.get_object()
        # The service checks role before reason (403 before 400); a reason that is not text is the serializer's 400.
        data = request.data if hasattr(request.data, "get") else {}
        reason = data.get("reason", "")
        if not isinstance(reason, str):
            s = ReasonInput(data=data)
            s.is_valid(raise_exception=True)
            reason = s.validated_data["reason"]
        draw = services.draw_void(actor=request.user, draw=draw, reason=reason)
        return Response(DrawSerializer(Draw.objects.select_related("plan", "predecessor").get(pk=draw.pk)).data)


def register(router):
    router.register("draw-plans", DrawPlanViewSet, basename="draw-plan")
    router.register("draws", DrawViewSet, basename="draw")
