"""Inspections API for the phone (PWA): prepare a visit, upload (sync) it, read it back.

Contract (docs/inspections.md):
- ``GET  /api/v1/inspections/prepare/?entity=<credit_code>``
- ``POST /api/v1/inspections/sync/`` → 201 (created) or 200 (same client_key again, same body)
- ``GET  /api/v1/inspections/{id}/``
"""
from __future__ import annotations

from django.db import IntegrityError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet
from zhijian.core.errors import ApplicationError
from zhijian.entities.models import MarketEntity
from zhijian.org.models import User
from zhijian.supervision.models import Task

from . import queries, services
from .choices import ANSWERS, AttachmentKind, CheckResult, Conclusion
from .models import Inspection


class ResultIn(serializers.Serializer):
    item_id = serializers.IntegerField()
    result = serializers.ChoiceField(choices=[(c.value, c.label) for c in ANSWERS])
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AttachmentIn(serializers.Serializer):
    client_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=AttachmentKind.choices)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    content_type = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    data_base64 = serializers.CharField(trim_whitespace=False)


class SignaturesIn(serializers.Serializer):
    officers = serializers.DictField(child=serializers.CharField(trim_whitespace=False))
    representative = serializers.DictField()


class SyncIn(serializers.Serializer):
    client_key = serializers.RegexField(r"^[A-Za-z0-9_.:-]{8,64}$")
    entity = serializers.CharField(max_length=18)
    task_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    officer_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    lng = serializers.FloatField(required=False, allow_null=True, min_value=73, max_value=136)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=3, max_value=54)
    results = serializers.ListField(child=ResultIn(), min_length=1)
    conclusion = serializers.ChoiceField(choices=Conclusion.choices)
    correction_days = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    attachments = serializers.ListField(child=AttachmentIn(), required=False, default=list, max_length=50)
    signatures = SignaturesIn()


class InspectionSerializer(DisplayModelSerializer):
    entity = serializers.SerializerMethodField()
    tasks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    officers = serializers.SerializerMethodField()
    checklist_version = serializers.IntegerField(source="checklist_version.number")
    results = serializers.SerializerMethodField()
    pdf_urls = serializers.SerializerMethodField()
    public_url = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = ["id", "client_key", "number", "state", "entity", "tasks", "officers", "checklist_version", "started_at",
                  "finished_at", "lng", "lat", "conclusion", "correction_days", "correction_due", "correction_number",
                  "opinion", "results", "sealed_at", "pdf_urls", "public_url"]

    def get_entity(self, obj) -> dict:
        return {"credit_code": obj.entity.credit_code, "name": obj.entity_name}

    def get_officers(self, obj) -> list:
        return [{"id": o.user_id, "name": o.name, "cert_no": o.cert_no} for o in obj.officer_rows.all()]

    def get_results(self, obj) -> list:
        return [{"item_id": r.item_id, "result": r.result, "note": r.note} for r in obj.results.all()]

    def get_pdf_urls(self, obj) -> dict:
        return pdf_urls(obj)

    def get_public_url(self, obj) -> str:
        return obj.get_public_url()


def pdf_urls(inspection) -> dict:
    urls = {"record": reverse("inspections:record_pdf", args=[inspection.pk])}
    if inspection.conclusion == Conclusion.CORRECT:
        urls["correction"] = reverse("inspections:correction_pdf", args=[inspection.pk])
    return urls


def sync_body(inspection) -> dict:
    """What the phone shows after an upload (and again, the same, after a replay): the record, how
    many items it records as 未检查, and the covered tasks as they are now (moved on to review)."""
    return {"id": inspection.pk, "number": inspection.number, "state": inspection.state,
            "pdf_urls": pdf_urls(inspection), "public_url": inspection.get_public_url(),
            "unchecked": inspection.results.filter(result=CheckResult.UNCHECKED).count(),
            "tasks": services.task_states(inspection)}


def _replay(user, client_key: str):
    """The inspection already uploaded under ``client_key`` by one of its officers."""
    existing = Inspection.objects.filter(client_key=client_key).first()
    if existing is None:
        return None
    if not existing.officer_rows.filter(user=user).exists():
        raise ApplicationError(_("该客户端编号已被其他检查使用"), code="conflict", extra={"client_key": [_("已被使用")]})
    return existing


class InspectionViewSet(ScopedReadOnlyViewSet):
    """On-site inspections in the caller's jurisdiction."""

    queryset = Inspection.objects.select_related("entity", "checklist_version").prefetch_related("tasks", "officer_rows", "results")
    serializer_class = InspectionSerializer
    filterset_fields = {"state": ["exact"], "conclusion": ["exact"], "entity__credit_code": ["exact"]}

    @extend_schema(parameters=[OpenApiParameter("entity", str, required=True, description="统一社会信用代码")])
    @action(detail=False, methods=["get"])
    def prepare(self, request):
        code = request.query_params.get("entity", "").strip().upper()
        if not code:
            raise ApplicationError(_("缺少主体统一社会信用代码"), code="invalid", extra={"entity": [_("必填")]})
        return Response(queries.prepare(request.user, code))

    @extend_schema(request=SyncIn, responses={201: dict, 200: dict})
    @action(detail=False, methods=["post"])
    def sync(self, request):
        s = SyncIn(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        existing = _replay(request.user, data["client_key"])
        if existing is not None:
            return Response(sync_body(existing), status=status.HTTP_200_OK)
        entity = MarketEntity.objects.get_scoped_or_404(request.user, credit_code=data["entity"].strip().upper())
        errors = services.FieldErrors()
        tasks = list(Task.objects.scoped(request.user).filter(pk__in=data["task_ids"]))
        for missing in sorted(set(data["task_ids"]) - {t.pk for t in tasks}):
            errors.add("task_ids", _("任务不存在或不在您的辖区内：%(id)s") % {"id": missing})
        found = User.objects.scoped(request.user).in_bulk(data["officer_ids"])
        for missing in [i for i in data["officer_ids"] if i not in found]:
            errors.add("officer_ids", _("执法人员不存在或不在您的辖区内：%(id)s") % {"id": missing})
        errors.raise_if_any()
        try:
            inspection = services.inspection_sync(
                actor=request.user, client_key=data["client_key"], entity=entity, tasks=tasks,
                officers=[found[i] for i in data["officer_ids"]], started_at=data["started_at"], finished_at=data["finished_at"],
                lng=data.get("lng"), lat=data.get("lat"), results=data["results"], conclusion=data["conclusion"],
                correction_days=data.get("correction_days"), opinion=data["opinion"], attachments=data["attachments"],
                signatures=data["signatures"], public_base_url=request.build_absolute_uri("/"),
            )
        except IntegrityError:
            # A concurrent upload of the same client_key committed first: answer with it.
            existing = _replay(request.user, data["client_key"])
            if existing is None:
                raise
            return Response(sync_body(existing), status=status.HTTP_200_OK)
        return Response(sync_body(inspection), status=status.HTTP_201_CREATED)


def register(router):
    router.register("inspections", InspectionViewSet, basename="inspection")
