"""API: the deadline calculator, the rule table and the holiday table (read-only)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet

from .models import Clock, DeadlineRule, Holiday
from .rules import due


class RuleSerializer(DisplayModelSerializer):
    class Meta:
        model = DeadlineRule
        fields = [
            "id", "code", "version", "name", "kind", "amount", "unit", "roll_forward", "window_start", "window_end",
            "legal_basis", "effective_from", "effective_to", "confirmed", "note", "obligor", "remind_days",
        ]


class HolidaySerializer(DisplayModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "is_off_day", "name", "year", "source", "note"]


class DueInput(serializers.Serializer):
    rule = serializers.CharField(max_length=60)
    start = serializers.DateField()
    at = serializers.DateField(required=False, help_text="决定适用哪一版规则的日期，默认为起算日")
    today = serializers.DateField(required=False, help_text="计算剩余天数的基准日，默认为今天")


class DueOutput(serializers.Serializer):
    rule = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    legal_basis = serializers.CharField()
    amount = serializers.IntegerField()
    unit = serializers.CharField()
    start = serializers.DateField()
    due_date = serializers.DateField()
    opens_on = serializers.DateField(allow_null=True)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(allow_null=True)
    today = serializers.DateField()
    is_overdue = serializers.BooleanField()
    days_left = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    provisional = serializers.BooleanField(help_text="所涉年度节假日安排尚未公布，按法定节日和周末暂定")


class ClockSerializer(DisplayModelSerializer):
    due_display = serializers.CharField(read_only=True, help_text="到期日，暂定时带“（暂定）”")

    class Meta:
        model = Clock
        fields = [
            "id", "procedure", "object_id", "name", "division_code", "entity_id", "rule_code", "rule_version", "amount", "unit",
            "obligor", "started_on", "due_on", "due_display", "original_due_on", "provisional", "state", "suspended_since",
            "suspended_days", "history", "overdue", "warned_at", "escalation", "stopped_on",
        ]


class ClockViewSet(ScopedReadOnlyViewSet):
    """The clocks of the objects in the caller's jurisdiction (``?procedure=&object_id=``)."""

    queryset = Clock.objects.all()
    serializer_class = ClockSerializer
    filterset_fields = ["procedure", "object_id", "name", "state", "provisional", "overdue"]


class DeadlineRuleViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DeadlineRule.objects.all()
    serializer_class = RuleSerializer
    filterset_fields = ["code", "unit", "confirmed"]


class HolidayViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Holiday.objects.all()
    serializer_class = HolidaySerializer
    filterset_fields = ["year", "is_off_day"]
    lookup_field = "date"


class DeadlineViewSet(viewsets.ViewSet):
    """Compute deadlines."""

    @extend_schema(
        parameters=[
            OpenApiParameter("rule", str, required=True),
            OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("at", str, description="YYYY-MM-DD"),
            OpenApiParameter("today", str, description="YYYY-MM-DD"),
        ],
        responses=DueOutput,
    )
    @action(detail=False, methods=["get"])
    def due(self, request):
        params = DueInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        deadline = due(data["rule"], data["start"], at=data.get("at"))
        return Response(DueOutput(deadline.as_dict(data.get("today"))).data)


def register(router):
    router.register("deadlines/rules", DeadlineRuleViewSet, basename="deadline-rule")
    router.register("deadlines/holidays", HolidayViewSet, basename="holiday")
    router.register("deadlines/clocks", ClockViewSet, basename="deadline-clock")
    router.register("deadlines", DeadlineViewSet, basename="deadline")
