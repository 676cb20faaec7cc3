"""Registry API: list/search, read, create, update, address and status changes, imports."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet, ScopedViewSetMixin, StrictInput
from zhijian.core.pagination import Pagination, page_params

from . import queries, services
from .choices import EntityStatus
from .models import EntityChange, ImportJob, MarketEntity


class EntitySerializer(DisplayModelSerializer):
    grid_name = serializers.CharField(source="grid.name", read_only=True, default=None, allow_null=True,
                                      help_text=_("所属网格名称；尚未落入网格时为 null"))

    class Meta:
        model = MarketEntity
        fields = ["credit_code", "name", "entity_type", "legal_type", "legal_rep", "capital", "capital_currency",
                  "established_on", "approved_on", "status", "address", "division_code", "grid", "grid_name", "lng", "lat",
                  "industry_code", "business_scope", "warning", "version", "created_at", "updated_at"]
        read_only_fields = ["entity_type", "status", "grid", "warning", "version", "created_at", "updated_at"]


class EntityCreateSerializer(StrictInput):
    resource = EntitySerializer

    credit_code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    division_code = serializers.RegexField(r"^\d{2,12}$", required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    legal_type = serializers.CharField(max_length=100, required=False, allow_blank=True)
    legal_rep = serializers.CharField(max_length=100, required=False, allow_blank=True)
    capital = serializers.DecimalField(max_digits=18, decimal_places=4, required=False, allow_null=True)
    established_on = serializers.DateField(required=False, allow_null=True)
    industry_code = serializers.CharField(max_length=5, required=False, allow_blank=True)
    business_scope = serializers.CharField(required=False, allow_blank=True)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=73, max_value=136)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=3, max_value=54)


class EntityUpdateSerializer(EntityCreateSerializer):
    credit_code = None
    division_code = None
    address = None
    name = serializers.CharField(max_length=200, required=False)
    expected_version = serializers.IntegerField(required=False)


class AddressSerializer(StrictInput):
    resource = EntitySerializer

    address = serializers.CharField(max_length=300)
    division_code = serializers.RegexField(r"^\d{2,12}$")
    lng = serializers.FloatField(required=False, allow_null=True, min_value=73, max_value=136)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=3, max_value=54)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StatusSerializer(StrictInput):
    resource = EntitySerializer

    status = serializers.ChoiceField(choices=EntityStatus.choices)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ChangeSerializer(DisplayModelSerializer):
    actor = serializers.StringRelatedField(allow_null=True, help_text=_("操作人；系统操作（导入、同步）为 null"))

    class Meta:
        model = EntityChange
        fields = ["kind", "changed", "actor", "at", "note"]


# No registry holds this many entities: a search page starting beyond it is past the end (and its
# offset would not fit the database's integers).
SEARCH_DEPTH = 2**31


class EntityListPagination(Pagination):
    """The list's page, or (with ``q``) the name search's: the search walks the registry newest first
    and stops at the page, so it has no total (``count`` null) and says whether it fell back to the
    fuzzy pass (``fuzzy``)."""

    def get_paginated_response_schema(self, schema):
        out = super().get_paginated_response_schema(schema)
        out["properties"]["count"] = {"type": "integer", "nullable": True, "example": 123,
                                      "description": str(_("总条数；按名称搜索（q）时为 null：搜索不计总数"))}
        out["properties"]["fuzzy"] = {"type": "boolean",
                                      "description": str(_("仅在按名称搜索（q）时出现：没有名称包含该词，结果来自相似名称"))}
        return out


class EntityViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Market entities in the caller's jurisdiction. ``q`` searches names (or an exact credit code)."""

    queryset = MarketEntity.objects.select_related("grid").order_by("-id")
    serializer_class = EntitySerializer
    pagination_class = EntityListPagination
    lookup_field = "credit_code"
    filterset_fields = {"division_code": ["exact", "startswith"], "grid": ["exact"], "industry_code": ["exact", "startswith"],
                        "entity_type": ["exact"], "status": ["exact"]}
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(parameters=[OpenApiParameter("q", str, description="名称的一部分或18位统一社会信用代码")])
    def list(self, request, *args, **kwargs):
        q = request.query_params.get("q", "").strip()
        if not q:
            return super().list(request, *args, **kwargs)
        page, page_size = page_params(request)
        if (page - 1) * page_size >= SEARCH_DEPTH:
            raise NotFound(_("页码超出范围：该页没有记录"))
        # The filters are checked as in the list (an unknown status or type is a 400, not ignored).
        self.filter_queryset(self.get_queryset().none())
        filters = {k: request.query_params.get(k, "") for k in ("status", "entity_type")}
        filters["division"] = request.query_params.get("division_code__startswith", "") or request.query_params.get("division_code", "")
        filters["industry"] = request.query_params.get("industry_code__startswith", "") or request.query_params.get("industry_code", "")
        result = queries.search(request.user, q, limit=page_size, offset=(page - 1) * page_size, **{k: v for k, v in filters.items() if v})
        url = request.build_absolute_uri()
        previous = None if page == 1 else remove_query_param(url, "page") if page == 2 else replace_query_param(url, "page", page - 1)
        return Response({"count": None, "next": replace_query_param(url, "page", page + 1) if result.more else None,
                         "previous": previous, "fuzzy": result.fuzzy, "results": EntitySerializer(result.entities, many=True).data})

    @extend_schema(request=EntityCreateSerializer, responses=EntitySerializer)
    def create(self, request, *args, **kwargs):
        s = EntityCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        entity = services.entity_create(actor=request.user, **s.validated_data)
        return Response(EntitySerializer(entity).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EntityUpdateSerializer, responses=EntitySerializer)
    def partial_update(self, request, *args, **kwargs):
        self.get_object()  # 404 outside the jurisdiction
        s = EntityUpdateSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        entity = services.entity_update(actor=request.user, credit_code=kwargs["credit_code"], **s.validated_data)
        return Response(EntitySerializer(entity).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=AddressSerializer, responses=EntitySerializer)
    @action(detail=True, methods=["post"])
    def address(self, request, credit_code=None):
        self.get_object()
        s = AddressSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        entity = services.entity_change_address(actor=request.user, credit_code=credit_code, **s.validated_data)
        return Response(EntitySerializer(entity).data)

    @extend_schema(request=StatusSerializer, responses=EntitySerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, credit_code=None):
        self.get_object()
        s = StatusSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        entity = services.entity_set_status(actor=request.user, credit_code=credit_code, **s.validated_data)
        return Response(EntitySerializer(entity).data)

    @extend_schema(responses=ChangeSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=Pagination)
    def history(self, request, credit_code=None):
        """The entity's registry changes, newest first, paged like every list."""
        entity = self.get_object()
        page = self.paginate_queryset(entity.changes.select_related("actor").order_by("-at", "-id"))
        return self.get_paginated_response(ChangeSerializer(page, many=True).data)


class ImportJobSerializer(DisplayModelSerializer):
    class Meta:
        model = ImportJob
        fields = ["id", "filename", "dry_run", "state", "total", "processed", "imported", "updated", "rejected", "warned",
                  "message", "errors", "created_at"]


class ImportUploadSerializer(StrictInput):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(required=False, default=False)


class ImportJobViewSet(ScopedReadOnlyViewSet):
    """Bulk imports: POST a CSV/.xlsx file; GET the job for progress and the row-level errors."""

    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser]

    @extend_schema(request=ImportUploadSerializer, responses=ImportJobSerializer)
    def create(self, request):
        s = ImportUploadSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        job = services.import_upload(actor=request.user, upload=s.validated_data["file"], dry_run=s.validated_data["dry_run"])
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def register(router):
    router.register("entities", EntityViewSet)
    router.register("imports", ImportJobViewSet)
