"""Grid API: scoped lists and details; one write, the phone's clue report.

- ``POST /api/v1/grid/clue-reports/`` (multipart or JSON) with a ``client_key``: 201 with the clue
  and its case; the same key again: 200 with the first clue, nothing written twice. A position
  that is not a longitude and latitude: 400 with a Chinese message.
"""
from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet, StrictInput
from zhijian.core.parsers import JSONParser  # depth- and size-limited, Chinese errors
from zhijian.core.idempotency import KEY_PATTERN

from zhijian.clues.choices import ClueKind
from zhijian.clues.models import Clue

from . import reports
from .choices import CaseState
from .models import EmergencyOrder, GridCase, Warning


class CaseSerializer(DisplayModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    credit_code = serializers.CharField(source="entity.credit_code", read_only=True, default="")
    grid_name = serializers.CharField(source="grid.name", read_only=True, default=None, allow_null=True,
                                      help_text=_("所属网格名称；未定位到网格时为 null"))
    is_overdue = serializers.SerializerMethodField()
    step_rule = serializers.CharField(read_only=True, help_text="当前环节的期限规则（其期限计时的规则）")

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


class GridClueSerializer(DisplayModelSerializer):
    """A clue reported from the phone (``clues.Clue``, source 网格员现场报告) and the grid case it opened."""

    case = serializers.SerializerMethodField()
    address = serializers.CharField(source="place", read_only=True)
    description = serializers.CharField(source="text", read_only=True)

    class Meta:
        model = Clue
        fields = ["id", "number", "kind", "place_name", "address", "description", "lng", "lat", "grid", "division_code", "state",
                  "created_at", "case"]
        read_only_fields = fields

    def get_case(self, obj) -> int | None:
        case = reports.case_of(obj)
        return case.pk if case is not None else None


class ClueReportIn(StrictInput):
    client_key = serializers.RegexField(KEY_PATTERN.pattern, help_text="手机生成的客户端编号（8–64 位）：重发同一编号只登记一次")
    kind = serializers.ChoiceField(choices=ClueKind.choices, default=ClueKind.UNLICENSED)
    place_name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    industry_code = serializers.CharField(max_length=5, required=False, allow_blank=True, default="")
    lng = serializers.FloatField(required=False, allow_null=True, default=None)
    lat = serializers.FloatField(required=False, allow_null=True, default=None)
    system = serializers.ChoiceField(choices=["wgs84", "gcj02", "bd09"], default="wgs84", help_text="坐标系（浏览器定位为 wgs84）")
    accuracy = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    photo = serializers.FileField(required=False, allow_null=True, default=None)


class ClueReportViewSet(viewsets.GenericViewSet):
    """报告线索 (G2/G4) from the phone: the clue is recorded through the clue intake and opens its
    grid case. Reading clues: ``/api/v1/clues/``."""

    serializer_class = ClueReportIn
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=ClueReportIn, responses={201: GridClueSerializer, 200: GridClueSerializer})
    def create(self, request):
        s = ClueReportIn(data=request.data)
        s.is_valid(raise_exception=True)
        clue = reports.clue_report(actor=request.user, via="api", **s.validated_data)
        return Response(GridClueSerializer(clue).data, status=status.HTTP_200_OK if clue.replayed else status.HTTP_201_CREATED)


class WarningSerializer(DisplayModelSerializer):
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


class OrderSerializer(DisplayModelSerializer):
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
    router.register("grid/clue-reports", ClueReportViewSet, basename="grid-clue-report")
    router.register("grid/warnings", WarningViewSet, basename="grid-warning")
    router.register("grid/orders", OrderViewSet, basename="grid-order")
