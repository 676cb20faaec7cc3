"""Push items API: the department's inbox and its feedback calls (C2, C6); clues assigned to a
department (C4).

``POST /api/v1/push-items/{id}/{claim,accept,return,reassign,finish}/`` with an
``Idempotency-Key`` header: the first answer under a key is stored (``core.idempotency``) and a
replay returns it unchanged (same status, same body) without acting again. See docs/interfaces.md.
"""
from __future__ import annotations

import hashlib
import json

import django_filters
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from zhijian.clues import queries as clue_queries
from zhijian.clues import services as clue_services
from zhijian.clues.models import Clue
from zhijian.core import idempotency
from zhijian.core.api import DisplayModelSerializer, ReasonInput, ScopedReadOnlyViewSet, StrictInput, exception_handler
from zhijian.core.errors import ApplicationError
from zhijian.core.models import IdempotencyRecord, WorkflowStep
from zhijian.org.models import Department

from . import feedback, queries
from .choices import PUSH_PROCEDURE, PushState
from .models import PushItem


class PushStepSerializer(DisplayModelSerializer):
    actor = serializers.StringRelatedField(allow_null=True, help_text=_("操作人；系统操作为 null"))

    class Meta:
        model = WorkflowStep
        fields = ["action", "from_state", "to_state", "actor", "via", "comment", "at"]


class PushItemSerializer(DisplayModelSerializer):
    credit_code = serializers.CharField(source="entity.credit_code", read_only=True)
    entity_name = serializers.CharField(source="entity.name", read_only=True)
    department_code = serializers.CharField(source="department.code", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)
    matter_name = serializers.CharField(source="matter.name", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True, default="")
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = PushItem
        fields = ["id", "credit_code", "entity_name", "division_code", "department", "department_code", "department_name", "matter",
                  "matter_name", "rule", "rule_name", "rule_version", "matched_on", "trigger", "source_event_id", "state", "state_label",
                  "deadline_rule", "deadline_hours", "due_on", "due_at", "is_overdue", "claimed_at", "finished_at", "result",
                  "return_reason", "reassigned_to", "version", "created_at"]
        read_only_fields = fields

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue()


class PushItemDetailSerializer(PushItemSerializer):
    steps = PushStepSerializer(many=True, read_only=True, source="timeline")

    class Meta(PushItemSerializer.Meta):
        fields = PushItemSerializer.Meta.fields + ["steps"]
        read_only_fields = fields


class PushItemFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=PushState.choices)
    department = django_filters.CharFilter(field_name="department__code")
    credit_code = django_filters.CharFilter(field_name="entity__credit_code")
    since = django_filters.NumberFilter(field_name="id", lookup_expr="gt", label=_("id 大于"))

    class Meta:
        model = PushItem
        fields = ["state", "department", "credit_code", "since"]


class CommentInput(StrictInput):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReassignInput(StrictInput):
    department = serializers.CharField(help_text=_("目标部门代码"))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ResultInput(StrictInput):
    result = serializers.CharField(max_length=5000)


IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                               description=_("同一键重复调用时返回第一次的结果，不会重复办理"))


class PushItemViewSet(ScopedReadOnlyViewSet):
    """Items pushed to departments (department staff: their own department's only)."""

    queryset = PushItem.objects.order_by("-id")
    serializer_class = PushItemSerializer
    filterset_class = PushItemFilter

    def get_queryset(self):
        return queries.push_items(self.request.user).order_by("-id")

    def get_serializer_class(self):
        return PushItemDetailSerializer if self.action != "list" else PushItemSerializer

    def _feedback(self, request, name, item, run):
        """Run one feedback call under the caller's Idempotency-Key (if any): the first answer,
        refusals included, is what every replay gets."""
        raw = (request.headers.get("Idempotency-Key") or "").strip()
        with transaction.atomic():
            claim = None
            if raw:
                try:
                    claim = idempotency.claim(key=record_key(raw), actor=request.user, operation=operation(name, item))
                except idempotency.KeyConflict:
                    raise _reused(record_key(raw), request.user) from None
                if claim.replayed:
                    response = Response(claim.record.response, status=claim.record.status or 200)
                    response["Idempotent-Replayed"] = "true"
                    return response
            try:
                with transaction.atomic():  # savepoint: a refusal leaves the claim to record it
                    moved = run(item)
                status, body = 200, PushItemDetailSerializer(self.get_queryset().get(pk=moved.pk), context=self.get_serializer_context()).data
            except ApplicationError as exc:
                resp = exception_handler(exc, {})
                status, body = resp.status_code, resp.data
            if claim is not None:
                claim.done(object_type=PUSH_PROCEDURE, object_id=item.pk, response=_plain(body), status=status)
        return Response(body, status=status)

    @extend_schema(request=None, parameters=[IDEMPOTENCY], responses=PushItemDetailSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        item = self.get_object()  # out of scope: 404 before anything else
        return self._feedback(request, "claim", item, lambda item: feedback.item_claim(actor=request.user, item=item, via="api"))

    @extend_schema(request=CommentInput, parameters=[IDEMPOTENCY], responses=PushItemDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        item = self.get_object()  # out of scope: 404 before anything else
        s = CommentInput(data=request.data)
        s.is_valid(raise_exception=True)
        return self._feedback(request, "accept", item, lambda item: feedback.item_accept(actor=request.user, item=item, via="api", **s.validated_data))

    @extend_schema(request=ReasonInput, parameters=[IDEMPOTENCY], responses=PushItemDetailSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def send_back(self, request, pk=None):
        item = self.get_object()  # out of scope: 404 before anything else
        s = ReasonInput(data=request.data)
        s.is_valid(raise_exception=True)
        return self._feedback(request, "return", item, lambda item: feedback.item_return(actor=request.user, item=item, via="api", **s.validated_data))

    @extend_schema(request=ReassignInput, parameters=[IDEMPOTENCY], responses=PushItemDetailSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        item = self.get_object()  # out of scope: 404 before anything else
        s = ReassignInput(data=request.data)
        s.is_valid(raise_exception=True)
        target = Department.objects.filter(code=s.validated_data["department"]).first()
        if target is None:
            raise ApplicationError(_("部门代码“%(code)s”不存在") % {"code": s.validated_data["department"]}, code="bad_department")
        return self._feedback(request, "reassign", item, lambda item: feedback.item_reassign(
            actor=request.user, item=item, department=target, reason=s.validated_data["reason"], via="api"))

    @extend_schema(request=ResultInput, parameters=[IDEMPOTENCY], responses=PushItemDetailSerializer)
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        item = self.get_object()  # out of scope: 404 before anything else
        s = ResultInput(data=request.data)
        s.is_valid(raise_exception=True)
        return self._feedback(request, "finish", item, lambda item: feedback.item_finish(actor=request.user, item=item, via="api", **s.validated_data))


def record_key(raw: str) -> str:
    """The client's header as an idempotency key: kept when it is a valid client key, else (any
    other string up to 100 characters, as this API has always accepted) its SHA-256."""
    raw = raw[:100]
    return raw if idempotency.KEY_PATTERN.match(raw) else "h:" + hashlib.sha256(raw.encode()).hexdigest()[:62]


def operation(name: str, item) -> str:
    """One feedback call on one item: a key reused for another call is refused."""
    return f"push.{name}:{item.pk}"


def _reused(key, user) -> ApplicationError:
    earlier = IdempotencyRecord.objects.filter(actor_id=user.pk, key=key).first()
    name, _sep, item_id = (earlier.operation if earlier else "").removeprefix("push.").partition(":")
    return ApplicationError(_("该幂等键已用于另一次调用（事项 %(item)s，动作 %(action)s）") % {"item": item_id or "—", "action": name or "—"},
                            code="idempotency_key_reused")


def _plain(data):
    return json.loads(json.dumps(data, cls=JSONEncoder))


class ClueSerializer(DisplayModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True, default="")
    credit_code = serializers.CharField(source="entity.credit_code", read_only=True, default="")

    class Meta:
        model = Clue
        fields = ["id", "number", "source", "text", "place_name", "place", "credit_code", "division_code", "lng", "lat", "state",
                  "state_label", "department", "department_name", "suggested", "assigned_at", "report", "reported_at", "created_at"]
        read_only_fields = fields


class ClueViewSet(ScopedReadOnlyViewSet):
    """Clues (线索移交) in the caller's jurisdiction; department staff see those assigned to them."""

    queryset = Clue.objects.order_by("-id")
    serializer_class = ClueSerializer

    def get_queryset(self):
        return clue_queries.clues(self.request.user).order_by("-id")

    @extend_schema(request=ResultInput, responses=ClueSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        clue = self.get_object()
        s = ResultInput(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(ClueSerializer(clue_services.clue_report(actor=request.user, clue=clue, report=s.validated_data["result"],
                                                                 via="api")).data)


def register(router):
    router.register("push-items", PushItemViewSet)
    router.register("clues", ClueViewSet)
