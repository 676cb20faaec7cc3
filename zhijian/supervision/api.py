"""Tasks API: scoped list/detail with filters, and one POST action per step of the loop."""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from zhijian.core.api import CodeNameField, DisplayModelSerializer, ReasonInput, ScopedReadOnlyViewSet, StrictInput
from zhijian.core.errors import ApplicationError
from zhijian.core.filters import IntegerFilter
from zhijian.core.models import WorkflowStep
from zhijian.org.models import Bureau, User

from . import tasks
from .queries import with_clocks
from .choices import OPEN_STATES, TaskSource, TaskState
from .models import Task, TaskRecord, TaskUrge
from .procedure import TASK, allowed_actions


class TaskSerializer(DisplayModelSerializer):
    credit_code = serializers.CharField(source="entity.credit_code", read_only=True, default="")
    entity_name = serializers.CharField(source="entity.name", read_only=True, default="")
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    source_label = serializers.CharField(source="get_source_display", read_only=True)
    bureau_name = serializers.CharField(source="bureau.name", read_only=True, default=None, allow_null=True,
                                        help_text=_("承办机构名称；尚未派发时为 null"))
    assignee_name = serializers.StringRelatedField(source="assignee", allow_null=True, help_text=_("承办人姓名；尚未指定时为 null"))
    is_overdue = serializers.SerializerMethodField()
    due_provisional = serializers.BooleanField(read_only=True, help_text="办理期限按暂定的节假日安排计算（该年度安排尚未公布）")

    class Meta:
        model = Task
        fields = ["id", "number", "title", "source", "source_label", "source_ref", "business_line", "credit_code", "entity_name",
                  "division_code", "state", "state_label", "bureau", "bureau_name", "assignee", "assignee_name", "deadline_rule",
                  "due_on", "due_provisional", "is_overdue", "overdue", "review_comment", "cancel_reason", "description", "template", "run_key",
                  "version", "created_at", "updated_at", "closed_at"]
        read_only_fields = fields

    def get_is_overdue(self, obj) -> bool:
        return (obj.overdue and obj.is_open) or obj.is_overdue()


class TaskStepSerializer(DisplayModelSerializer):
    """One step of the task's timeline (``core.WorkflowStep`` of procedure ``supervision.task``)."""

    actor = serializers.StringRelatedField(allow_null=True, help_text=_("操作人；系统操作为 null"))

    class Meta:
        model = WorkflowStep
        fields = ["action", "from_state", "to_state", "actor", "comment", "at"]


class RecordSerializer(DisplayModelSerializer):
    kind_display = CodeNameField("record_kind", source="kind")

    class Meta:
        model = TaskRecord
        fields = ["kind", "kind_display", "record_id", "signed", "linked_at"]


class UrgeSerializer(DisplayModelSerializer):
    by = serializers.StringRelatedField(allow_null=True, help_text=_("督办人；账户已删除时为 null"))

    class Meta:
        model = TaskUrge
        fields = ["by", "message", "at"]


class TaskDetailSerializer(TaskSerializer):
    steps = serializers.SerializerMethodField()
    records = RecordSerializer(many=True, read_only=True)
    urges = UrgeSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta(TaskSerializer.Meta):
        fields = TaskSerializer.Meta.fields + ["steps", "records", "urges", "allowed_actions"]
        read_only_fields = fields

    @extend_schema_field(TaskStepSerializer(many=True))
    def get_steps(self, obj):
        return TaskStepSerializer(TASK.timeline(obj), many=True).data

    def get_allowed_actions(self, obj) -> list[str]:
        return allowed_actions(obj, self.context["request"].user)


class TaskFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=TaskState.choices)
    source = django_filters.MultipleChoiceFilter(choices=TaskSource.choices)
    business_line = django_filters.CharFilter()
    assignee = IntegerFilter(field_name="assignee_id")
    bureau = IntegerFilter(field_name="bureau_id")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("逾期"))
    credit_code = django_filters.CharFilter(field_name="entity__credit_code")

    class Meta:
        model = Task
        fields = ["state", "source", "business_line", "assignee", "bureau", "overdue", "credit_code"]

    def filter_overdue(self, qs, name, value):
        late = Q(state__in=OPEN_STATES) & (Q(overdue=True) | Q(due_on__lt=timezone.localdate()))
        return qs.filter(late) if value else qs.exclude(late)


class DispatchInput(StrictInput):
    bureau = serializers.IntegerField(required=False, allow_null=True)
    assignee = serializers.IntegerField(required=False, allow_null=True)


class ReviewInput(StrictInput):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class MessageInput(StrictInput):
    message = serializers.CharField(max_length=500)


def _scoped_target(model, user, pk, message):
    if pk is None:
        return None
    obj = model.objects.scoped(user).filter(pk=pk).first()
    if obj is None:
        raise ApplicationError(message, code="bad_target")
    return obj


class TaskViewSet(ScopedReadOnlyViewSet):
    """Supervision tasks in the caller's jurisdiction. Each step is ``POST /tasks/{id}/<step>/``;
    a refused step answers 400/403/409 with the reason in ``error.message``."""

    queryset = Task.objects.select_related("entity", "bureau", "assignee").order_by("-id")
    serializer_class = TaskSerializer
    filterset_class = TaskFilter

    def get_serializer_class(self):
        return TaskDetailSerializer if self.action == "retrieve" else TaskSerializer

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_clocks(page) if page is not None else None  # one query for the page's clocks

    def _done(self, task):
        task = self.get_queryset().get(pk=task.pk)
        return Response(TaskDetailSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=DispatchInput, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_to(self, request, pk=None):  # not "dispatch": that name is the view's own entry point
        task = self.get_object()
        s = DispatchInput(data=request.data)
        s.is_valid(raise_exception=True)
        bureau = _scoped_target(Bureau, request.user, s.validated_data.get("bureau"), _("承办机构不存在或不在您的辖区内"))
        assignee = _scoped_target(User, request.user, s.validated_data.get("assignee"), _("承办人不存在或不在您的辖区内"))
        return self._done(tasks.task_dispatch(actor=request.user, task=task, bureau=bureau, assignee=assignee))

    @extend_schema(request=None, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._done(tasks.task_accept(actor=request.user, task=self.get_object()))

    @extend_schema(request=None, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._done(tasks.task_start(actor=request.user, task=self.get_object()))

    @extend_schema(request=None, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._done(tasks.task_submit(actor=request.user, task=self.get_object()))

    @extend_schema(request=ReviewInput, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        task = self.get_object()
        s = ReviewInput(data=request.data)
        s.is_valid(raise_exception=True)
        return self._done(tasks.task_review(actor=request.user, task=task, **s.validated_data))

    @extend_schema(request=None, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._done(tasks.task_archive(actor=request.user, task=self.get_object()))

    @extend_schema(request=ReasonInput, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        task = self.get_object()
        s = ReasonInput(data=request.data)
        s.is_valid(raise_exception=True)
        return self._done(tasks.task_cancel(actor=request.user, task=task, reason=s.validated_data["reason"]))

    @extend_schema(request=MessageInput, responses=TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def urge(self, request, pk=None):
        task = self.get_object()
        s = MessageInput(data=request.data)
        s.is_valid(raise_exception=True)
        tasks.task_urge(actor=request.user, task=task, message=s.validated_data["message"])
        return self._done(task)


def register(router):
    router.register("tasks", TaskViewSet)
