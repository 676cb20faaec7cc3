"""Grid API: scoped, read-only lists and details (writes go through the pages' services)."""
from __future__ import annotations

import django_filters
from rest_framework import serializers

from zhijian.core.api import ScopedReadOnlyViewSet

from .choices import CaseState
from .models import Clue, EmergencyOrder, GridCase, Warning


class CaseSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    credit_code = serializers.CharField(source="entity.credit_code", read_only=True, default="")
    grid_name = serializers.CharField(source="grid.name", read_only=True, default=None)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = GridCase
        fields = ["id", "number", "title", "trigger", "trigger_ref", "credit_code", "place_name", "address", "division_code", "grid",
                  "grid_name", "bureau", "assignee", "state", "state_label", "received_on", "step_rule", "step_due_on", "is_overdue",
                  "notice_number", "notice_deadline", "route_target", "routed_bureau", "routed_department", "resolution", "lng", "lat",
                  "created_at", "closed_at"]
        read_only_fields = fields

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue()


class CaseFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=CaseState.choices)
    division = django_filters.CharFilter(field_name="division_code", lookup_expr="startswith")

    class Meta:
        model = GridCase
        fields = ["state", "trigger", "grid", "assignee", "division"]


class CaseViewSet(ScopedReadOnlyViewSet):
    """网格事项 (G1): list with filters, detail."""

    queryset = GridCase.objects.select_related("entity", "grid").order_by("-id")
    serializer_class = CaseSerializer
    filterset_class = CaseFilter


class GridClueSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clue
        fields = ["id", "kind", "place_name", "address", "description", "lng", "lat", "grid", "division_code", "state", "created_at"]
        read_only_fields = fields


class ClueViewSet(ScopedReadOnlyViewSet):
    queryset = Clue.objects.order_by("-id")
    serializer_class = GridClueSerializer


class WarningSerializer(serializers.ModelSerializer):
    level_label = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Warning
        fields = ["id", "item_type", "item_id", "step", "level", "level_label", "due_on", "recipient", "bureau", "division_code", "raised_at",
                  "acknowledged", "acknowledged_at"]
        read_only_fields = fields


class WarningViewSet(ScopedReadOnlyViewSet):
    """时限预警 (C3)."""

    queryset = Warning.objects.order_by("-id")
    serializer_class = WarningSerializer
    filterset_fields = ["item_type", "level", "acknowledged", "recipient"]


class OrderSerializer(serializers.ModelSerializer):
    recipients = serializers.SerializerMethodField()

    class Meta:
        model = EmergencyOrder
        fields = ["id", "title", "message", "lng", "lat", "wanted", "division_code", "state", "created_at", "recipients"]
        read_only_fields = fields

    def get_recipients(self, obj) -> list[dict]:
        return [{"officer": r.officer_id, "name": str(r.officer), "rank": r.rank, "distance_m": r.distance_m,
                 "acknowledged_at": r.acknowledged_at} for r in obj.recipients.all()]


class OrderViewSet(ScopedReadOnlyViewSet):
    """应急指令 (G3) with their recipients and acknowledgements."""

    queryset = EmergencyOrder.objects.prefetch_related("recipients__officer").order_by("-id")
    serializer_class = OrderSerializer


def register(router):
    router.register("grid/cases", CaseViewSet, basename="grid-case")
    router.register("grid/clues", ClueViewSet, basename="grid-clue")
    router.register("grid/warnings", WarningViewSet, basename="grid-warning")
    router.register("grid/orders", OrderViewSet, basename="grid-order")
