"""Shared abstract models."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .scoping import ScopedManager, register_scoped


class StepChannel(models.TextChoices):
    WEB = "web", _("网页")
    API = "api", _("接口")
    PHONE = "phone", _("手机")
    SYSTEM = "system", _("系统")


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


# --- trace ledger (监管留痕) ---------------------------------------------------------------------
class TraceChain(models.Model):
    """The head of one hash chain. Appends lock this row, so each chain grows one entry at a time.

    See ``zhijian.core.trace`` for how entries are spread over chains.
    """

    name = models.CharField(_("链"), max_length=40, unique=True)
    head_seq = models.PositiveBigIntegerField(_("末条序号"), default=0)
    head_hash = models.CharField(_("末条哈希"), max_length=64, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("留痕链")
        verbose_name_plural = _("留痕链")
        ordering = ["name"]

    def __str__(self):
        return self.name


@register_scoped
class TraceEntry(models.Model):
    """One append-only ledger entry: who did what to which object, with before/after digests.

    ``actor_id`` is a plain integer, not a foreign key: the ledger must outlive the accounts it
    names and must never cascade.
    """

    scope_field = "division_code"

    chain = models.CharField(_("链"), max_length=40)
    seq = models.PositiveBigIntegerField(_("序号"))
    occurred_at = models.DateTimeField(_("时间"))
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True)
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    division_code = models.CharField(_("区划代码"), max_length=12, blank=True, db_index=True)
    before_digest = models.CharField(_("变更前摘要"), max_length=64, blank=True)
    after_digest = models.CharField(_("变更后摘要"), max_length=64, blank=True)
    prev_hash = models.CharField(_("前一条哈希"), max_length=64, blank=True)
    hash = models.CharField(_("本条哈希"), max_length=64)
    kid = models.CharField(_("签名密钥"), max_length=40, blank=True)
    signature = models.CharField(_("签名"), max_length=100, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("留痕记录")
        verbose_name_plural = _("留痕记录")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="trace_chain_seq_uniq")]
        indexes = [models.Index(fields=["object_type", "object_id"], name="trace_object")]

    def __str__(self):
        return f"{self.chain}#{self.seq} {self.action}"

    # What people read for the codes (trace.py imports this module, hence the imports in the methods).
    @property
    def action_label(self) -> str:
        from .trace import action_label  # trace.py imports this module

        return action_label(self.action)

    @property
    def object_type_label(self) -> str:
        from .trace import object_type_label  # trace.py imports this module

        return object_type_label(self.object_type)

    def get_action_display(self) -> str:
        return self.action_label

    def get_object_type_display(self) -> str:
        return self.object_type_label


class SigningKey(models.Model):
    """An Ed25519 key. Only one is active; retired keys stay so old signatures still verify.

    The private key is stored AES-GCM encrypted under a key derived from SECRET_KEY (never in the
    clear); keys supplied by ZHIJIAN_SIGNING_KEY are not stored at all (``external``).
    """

    kid = models.CharField(_("密钥ID"), max_length=40, unique=True)
    public_key = models.CharField(_("公钥"), max_length=64, help_text=_("base64url，32 字节"))
    private_key_enc = models.TextField(_("私钥（加密）"), blank=True, editable=False)
    external = models.BooleanField(_("外部提供"), default=False)
    active = models.BooleanField(_("当前使用"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("签名密钥")
        verbose_name_plural = _("签名密钥")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="signing_one_active_key"),
        ]

    def __str__(self):
        return self.kid


# --- event outbox and webhooks -----------------------------------------------------------------
class EventState(models.TextChoices):
    PENDING = "pending", _("待分发")
    DONE = "done", _("已分发")
    FAILED = "failed", _("处理失败")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待投递")
    DELIVERED = "delivered", _("已投递")
    DEAD = "dead", _("已放弃")


@register_scoped
class Event(models.Model):
    """An outbox row, written by ``events.emit`` in the same transaction as the change it reports."""

    scope_field = "division_code"

    type = models.CharField(_("事件类型"), max_length=80, db_index=True)
    payload = models.JSONField(_("内容"), default=dict)
    division_code = models.CharField(_("区划代码"), max_length=12, blank=True, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("发生时间"), auto_now_add=True)
    state = models.CharField(_("状态"), max_length=16, choices=EventState.choices, default=EventState.PENDING)
    attempts = models.PositiveIntegerField(_("处理次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次处理"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("分发时间"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    # Dispatch order: lower first, then by id (settings.EVENT_PRIORITIES; see events.priority_of).
    priority = models.PositiveSmallIntegerField(_("优先级"), default=1)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="event_due"),
            # The dispatcher walks pending events in (priority, id) order; done events stay out of it.
            models.Index(fields=["priority", "id"], name="event_pending", condition=models.Q(state="pending")),
        ]

    def __str__(self):
        return f"{self.type}#{self.pk}"


class HandlerRun(models.Model):
    """Marks that an in-process handler's effect for an event is committed.

    Written in the handler's own transaction, so the effect and the marker commit together:
    a redelivered event finds the marker and the effect is not repeated.
    """

    handler = models.CharField(_("处理器"), max_length=200)
    event = models.ForeignKey(Event, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="handler_runs")
    created_at = models.DateTimeField(_("处理时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("处理记录")
        verbose_name_plural = _("处理记录")
        constraints = [models.UniqueConstraint(fields=["handler", "event"], name="handlerrun_once")]

    def __str__(self):
        return f"{self.handler} ← {self.event_id}"


class WebhookSubscription(TimeStamped):
    """A department system that wants events POSTed to it (see docs/events.md)."""

    name = models.CharField(_("名称"), max_length=100)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="webhooks"
    )
    url = models.URLField(_("地址"), max_length=500)
    secret = models.CharField(_("签名密钥"), max_length=200, help_text=_("用于 HMAC-SHA256 签名，请妥善保管"))
    event_types = models.CharField(_("事件类型"), max_length=500, default="*", help_text=_("逗号分隔，可用通配符，如 entity.*"))
    division_prefixes = models.CharField(
        _("区划范围"), max_length=500, blank=True, help_text=_("逗号分隔的区划代码前缀；留空则用部门辖区，无部门则不限")
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("Webhook 订阅")
        verbose_name_plural = _("Webhook 订阅")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def type_patterns(self) -> list[str]:
        return [p.strip() for p in self.event_types.split(",") if p.strip()]

    def prefixes(self) -> list[str]:
        own = [p.strip() for p in self.division_prefixes.split(",") if p.strip()]
        if own:
            return own
        if self.department_id:
            return self.department.jurisdiction_prefixes() or ["-"]  # a department without a jurisdiction gets nothing
        return []


@register_scoped
class Delivery(models.Model):
    """One event for one subscription. ``idempotency_key`` is the same on every attempt."""

    scope_field = "event__division_code"

    subscription = models.ForeignKey(WebhookSubscription, verbose_name=_("订阅"), on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="deliveries")
    idempotency_key = models.CharField(_("幂等键"), max_length=40, unique=True)
    state = models.CharField(_("状态"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    # Also the claim lease: a worker pushes it forward before sending, so a crashed worker's
    # claim runs out and another worker retries.
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    last_status = models.PositiveIntegerField(_("最近状态码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("投递时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="delivery_once")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return self.idempotency_key


class DeliveryAttempt(models.Model):
    """The log: one row per HTTP attempt."""

    delivery = models.ForeignKey(Delivery, verbose_name=_("投递"), on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField(_("第几次"))
    started_at = models.DateTimeField(_("开始时间"))
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), default=0)
    status_code = models.PositiveIntegerField(_("状态码"), null=True, blank=True)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    response_excerpt = models.CharField(_("响应摘录"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("投递日志")
        verbose_name_plural = _("投递日志")
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"{self.delivery_id}#{self.number}"


# --- workflow kernel: one timeline, one idempotency record ------------------------------------
@register_scoped
class WorkflowStep(models.Model):
    """One step of any procedure (``core.workflow.Procedure``): who moved what from which state to
    which, when, by which channel. The procedure's name and the object's id locate the object; the
    labels of actions and states come from the procedure's own choices (``action_label`` …).
    ``entity_id`` (a plain integer, the registry sits above core) lets an entity's page show one
    timeline of everything done about it."""

    scope_field = "division_code"

    procedure = models.CharField(_("业务"), max_length=40)
    object_id = models.BigIntegerField(_("对象ID"))
    division_code = models.CharField(_("区划代码"), max_length=12, blank=True, db_index=True)
    entity_id = models.BigIntegerField(_("市场主体ID"), null=True, blank=True, db_index=True)
    action = models.CharField(_("操作"), max_length=30)
    from_state = models.CharField(_("原状态"), max_length=30, blank=True)
    to_state = models.CharField(_("新状态"), max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    via = models.CharField(_("渠道"), max_length=10, blank=True, choices=StepChannel.choices)
    department_id = models.BigIntegerField(_("部门ID"), null=True, blank=True)
    due_on = models.DateField(_("本环节期限"), null=True, blank=True)
    comment = models.CharField(_("说明"), max_length=1000, blank=True)
    client_key = models.CharField(_("客户端编号"), max_length=64, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("办理步骤")
        verbose_name_plural = _("办理步骤")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["procedure", "object_id", "at"], name="step_object_at")]

    def __str__(self):
        return f"{self.procedure}#{self.object_id} {self.action}"

    def _procedure(self):
        from .workflow import procedure_of  # workflow.py imports this module (its move writes WorkflowStep)

        return procedure_of(self.procedure)

    @property
    def action_label(self) -> str:
        p = self._procedure()
        return p.action_label(self.action) if p else self.action

    @property
    def from_state_label(self) -> str:
        p = self._procedure()
        return p.state_label(self.from_state) if p and self.from_state else ""

    @property
    def to_state_label(self) -> str:
        p = self._procedure()
        return p.state_label(self.to_state) if p else self.to_state

    # The names the old per-procedure step models used in templates and serializers.
    def get_action_display(self) -> str:
        return self.action_label

    def get_from_state_display(self) -> str:
        return self.from_state_label

    def get_to_state_display(self) -> str:
        return self.to_state_label


class IdempotencyRecord(models.Model):
    """A client key claimed by one actor for one operation, and what the first call produced
    (``core.idempotency``). ``actor_id`` 0 is the system."""

    actor_id = models.BigIntegerField(_("操作人ID"), default=0)
    key = models.CharField(_("客户端编号"), max_length=64)
    operation = models.CharField(_("操作"), max_length=80)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    status = models.PositiveSmallIntegerField(_("状态码"), null=True, blank=True)
    response = models.JSONField(_("应答"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = _("幂等记录")
        constraints = [models.UniqueConstraint(fields=["actor_id", "key"], name="idempotency_actor_key")]

    def __str__(self):
        return f"{self.actor_id}:{self.key}"


class ExportJob(TimeStamped):
    """One large export run in the background (``zhijian.core.exports``): its progress, its file
    under ``var/exports`` and who may download it (only the person who asked, until it expires)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导出中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")
        EXPIRED = "expired", _("已过期")

    kind = models.CharField(_("导出内容"), max_length=40)
    title = models.CharField(_("名称"), max_length=200)
    params = models.JSONField(_("筛选条件"), default=dict, blank=True)
    fmt = models.CharField(_("格式"), max_length=8, default="xlsx")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.CASCADE, related_name="+")
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    processed = models.PositiveIntegerField(_("已导出行数"), default=0)
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    stored_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(_("文件大小"), default=0)
    message = models.TextField(_("说明"), blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "-id"], name="exportjob_owner")]

    def __str__(self):
        return f"{self.title} #{self.pk}"

    @property
    def percent(self) -> int:
        return 100 if self.state == self.State.DONE else int(100 * self.processed / self.total) if self.total else 0


# --- trace anchor (留痕锚定) ----------------------------------------------------------------------
class TraceAnchorLine(models.Model):
    """A copy of one signed line of the trace anchor (``zhijian.core.anchor``): a signing key pinned
    or changed, or a checkpoint of every chain head. The authoritative copy is the append-only
    anchor file outside the database; these rows feed the public portal and tell ``verify-trace``
    how far the file should reach. Nothing here is trusted for verification."""

    class Kind(models.TextChoices):
        KEY = "key", _("签名密钥登记")
        CHECKPOINT = "checkpoint", _("检查点")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    n = models.PositiveBigIntegerField(_("检查点编号"), null=True, blank=True)
    kid = models.CharField(_("密钥ID"), max_length=40)
    at = models.DateTimeField(_("时间"))
    reason = models.CharField(_("触发"), max_length=16, blank=True)
    line = models.TextField(_("签名记录"), help_text=_("规范 JSON，与锚定文件中的一行相同"))
    created_at = models.DateTimeField(_("写入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("留痕锚定记录")
        verbose_name_plural = _("留痕锚定记录")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["n"], condition=models.Q(n__isnull=False), name="trace_anchor_one_n")]
        indexes = [models.Index(fields=["kind", "-id"], name="trace_anchor_kind")]

    def __str__(self):
        return f"{self.kind} {self.n or self.kid}"
