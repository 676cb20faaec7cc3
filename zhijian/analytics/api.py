"""``GET /api/v1/stats/push/?group=department|town|matter|period&from=&to=&period=day|week|month``."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from zhijian.core.errors import ApplicationError

from . import queries


class PushStatsViewSet(viewsets.ViewSet):
    """Push figures (C5) of the caller's jurisdiction, grouped as asked; rates in %, times in hours
    and working days (see docs/statistics.md)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("group", str, enum=list(queries.PUSH_GROUPS), default="department"),
            OpenApiParameter("period", str, enum=list(queries.PERIODS), default="day", description="group=period: day, week or month"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="first day (default: 29 days before to; at most three years)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="last day, inclusive (default: today)"),
        ],
        responses=inline_serializer("PushStats", {
            "group": serializers.CharField(), "period": serializers.CharField(),
            "from": serializers.DateField(), "to": serializers.DateField(),
            "rows": serializers.ListField(child=serializers.DictField()), "total": serializers.DictField(),
        }),
    )
    def list(self, request):
        if not request.user.has_role(*queries.STATS_ROLES):
            raise PermissionDenied
        group = request.query_params.get("group", "department")
        if group not in queries.PUSH_GROUPS:
            raise ApplicationError(_("分组方式只能是 department、town、matter 或 period"), code="bad_group",
                                   extra={"group": group, "allowed": list(queries.PUSH_GROUPS)})
        period = request.query_params.get("period", "day")
        if period not in queries.PERIODS:
            raise ApplicationError(_("时段只能是 day、week 或 month"), code="bad_period", extra={"period": period})
        rng = queries.parse_range(request.query_params.get("from"), request.query_params.get("to"))
        data = queries.push_stats(request.user, rng, group=group, period=period)
        return Response({"group": group, "period": period, "from": rng.start.isoformat(), "to": rng.end.isoformat(),
                         "rows": data["rows"], "total": data["total"]})


def register(router):
    router.register("stats/push", PushStatsViewSet, basename="stats-push")
