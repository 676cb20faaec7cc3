"""Draw API: plans and draws in the caller's jurisdiction; POST actions commit and execute."""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet

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

    class Meta:
        model = Draw
        fields = ["id", "public_id", "plan", "state", "seed_sha256", "seed", "params", "files", "recusal_sha256",
                  "pool_size", "selected_count", "created_at", "executed_at"]


class DrawPlanViewSet(ScopedReadOnlyViewSet):
    """Draw plans; ``POST …/{id}/commit/`` freezes the pools and publishes the seed's SHA-256."""

    queryset = DrawPlan.objects.select_related("bureau").prefetch_related("ratios").order_by("-id")
    serializer_class = PlanSerializer

    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        draw = services.draw_commit(actor=request.user, plan=self.get_object())
        return Response(DrawSerializer(draw).data, status=201)


class DrawViewSet(ScopedReadOnlyViewSet):
    """Draws; ``POST …/{id}/execute/`` reveals the seed and draws."""

    queryset = Draw.objects.select_related("plan").order_by("-id")
    serializer_class = DrawSerializer

    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        draw = services.draw_execute(actor=request.user, draw=self.get_object())
        return Response(DrawSerializer(draw).data)


def register(router):
    router.register("draw-plans", DrawPlanViewSet, basename="draw-plan")
    router.register("draws", DrawViewSet, basename="draw")
