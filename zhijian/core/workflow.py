"""The workflow kernel: one way for every procedure to move.

A procedure (the task loop, a push item, a clue, a grid case, later complaints, cases, licence
applications …) declares **one transition table**: for each action, the states it may start from,
the state it leads to (or the outcomes it may lead to), who may take it and the guards that must
hold, each guard answering with a Chinese reason when it does not. Everything else is here, once:

* :meth:`Procedure.check` — refuse an illegal step with a clear message (out of scope → 404,
  wrong role or person → 403, wrong state → 409, a failed guard → its own status);
* :meth:`Procedure.allowed` — the actions a person may take now (for pages and the API);
* :meth:`Procedure.move` — compare-and-swap the row on (state, version), write the
  :class:`~zhijian.core.models.WorkflowStep` (the timeline), the trace entry and the event in the
  caller's transaction; with a ``client_key`` a replay returns the stored object and changes
  nothing (:mod:`zhijian.core.idempotency`).

``actor=None`` is the system (a handler, a sweep, a command acting on its own authority): role,
person and jurisdiction rules are skipped, state rules and guards marked ``system=True`` are not.

Example (the shape every procedure follows; see ``docs/architecture.md``)::

    TASK = Procedure(
        name="supervision.task", noun=_("任务"), model=Task, states=TaskState, actions=TaskAction,
        transitions=[
            T(TaskAction.ACCEPT, [TaskState.DISPATCHED], TaskState.ACCEPTED, guards=[assignee_or_unit]),
            ...
        ],
        payload=event_payload,
    )
    task = TASK.move(task, TaskAction.ACCEPT, actor=officer, fields={"assignee_id": officer.pk})
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _

from . import events, idempotency, trace
from .errors import ApplicationError, OutOfScope
from .scoping import in_jurisdiction
from .models import WorkflowStep

# A guard answers None when the step may go ahead, or the reason (a Chinese sentence) when not.
Guard = Callable[[Any, Any, dict], "str | None"]


class Forbidden(ApplicationError):
    """The actor may not take this step (role or person)."""

    status = 403

    def __init__(self, message, *, extra=None):
        super().__init__(message, code="forbidden", extra=extra)


class StateError(ApplicationError):
    """The step is not allowed from the object's current state (or someone else moved it first)."""

    status = 409

    def __init__(self, message, *, extra=None):
        super().__init__(message, code="illegal_state", extra=extra)


class GuardFailed(ApplicationError):
    """A business guard refused the step (missing requirement, bad target …)."""

    status = 400

    def __init__(self, message, *, code="guard", extra=None):
        super().__init__(message, code=code, extra=extra)


@dataclass(frozen=True)
class Guarded:
    """A guard with the error it raises: ``Guarded(fn, status=403)`` for a person rule."""

    fn: Guard
    status: int = 400
    system: bool = False  # also checked when the system acts (actor=None)
    code: str = "guard"

    def __call__(self, obj, actor, ctx):
        return self.fn(obj, actor, ctx)


@dataclass(frozen=True)
class T:
    """One row of a transition table."""

    action: str
    sources: tuple[str, ...]
    # The state the action leads to; ``None`` when it depends on the outcome (then ``targets``
    # lists the outcomes allowed and ``move`` names one).
    target: str | None = None
    targets: tuple[str, ...] = ()
    roles: frozenset | None = None  # None: any role (the guards decide)
    role_message: str = ""
    guards: tuple = ()
    hint: str = ""  # shown after "…当前为“X”，不能Y：" — which state the step needs

    def __init__(self, action, sources, target=None, *, targets=(), roles=None, role_message="", guards=(), hint=""):
        object.__setattr__(self, "action", str(action))
        object.__setattr__(self, "sources", tuple(str(s) for s in sources))
        object.__setattr__(self, "target", str(target) if target is not None else None)
        object.__setattr__(self, "targets", tuple(str(s) for s in targets) or ((str(target),) if target is not None else ()))
        object.__setattr__(self, "roles", frozenset(str(r) for r in roles) if roles is not None else None)
        object.__setattr__(self, "role_message", role_message)
        object.__setattr__(self, "guards", tuple(g if isinstance(g, Guarded) else Guarded(g) for g in guards))
        object.__setattr__(self, "hint", hint)


PROCEDURES: dict[str, "Procedure"] = {}


@dataclass
class Procedure:
    """One procedure's declaration: its model, vocabulary and transition table."""

    name: str  # the object type in steps, trace and events, e.g. "supervision.task"
    noun: Any  # what the thing is called in messages: 任务, 事项, 线索 …
    model: Any
    states: Any  # TextChoices
    actions: Any  # TextChoices
    transitions: Iterable[T]
    event_prefix: str = ""  # "task" → events "task.<event name>"
    event_names: dict = field(default_factory=dict)  # action → event suffix (default: the action)
    payload: Callable | None = None  # payload(obj, **extra) -> dict for events
    snapshot: Callable | None = None  # snapshot(obj) -> dict for the trace
    scope: Callable | None = None  # scope(obj) -> division code (default: obj.division_code)
    entity_id: Callable | None = None  # entity_id(obj) -> the market entity's id for the timeline
    select_related: tuple = ()
    state_field: str = "state"
    version_field: str = "version"
    closed_states: tuple = ()  # entering one sets ``closed_at`` when the model has it
    trace_action: str = ""  # "grid.case" → trace action "grid.case.<action>" (default: event prefix)

    def __post_init__(self):
        self.table: dict[str, T] = {}
        for t in self.transitions:
            if t.action in self.table:
                raise ValueError(f"{self.name}: action {t.action} declared twice")
            unknown = [s for s in (*t.sources, *t.targets) if s not in self.states.values]
            if unknown:
                raise ValueError(f"{self.name}: unknown states {unknown} in {t.action}")
            if t.action not in self.actions.values:
                raise ValueError(f"{self.name}: unknown action {t.action}")
            self.table[t.action] = t
        self.transitions = tuple(self.table.values())
        self.closed_states = tuple(str(s) for s in self.closed_states)
        self.event_prefix = self.event_prefix or self.name.rsplit(".", 1)[-1]
        self.trace_action = self.trace_action or self.event_prefix
        PROCEDURES[self.name] = self
        trace.register_procedure_labels(trace_action=self.trace_action, name=self.name, noun=self.noun, actions=self.actions)
        # The events a step emits read like the step ("任务：受领"), on the event screens too.
        trace.register_action_labels({self.event_name(a.value): format_lazy("{}：{}", self.noun, a.label) for a in self.actions
                                      if self.event_name(a.value) not in trace.ACTION_LABELS})

    # --- vocabulary -----------------------------------------------------------------------------

    def state_label(self, state) -> str:
        try:
            return str(self.states(state).label)
        except ValueError:
            return str(state or "")

    def action_label(self, action) -> str:
        try:
            return str(self.actions(action).label)
        except ValueError:
            return str(action or "")

    def division_of(self, obj) -> str:
        return self.scope(obj) if self.scope else (getattr(obj, "division_code", "") or "")

    def event_name(self, action) -> str:
        return f"{self.event_prefix}.{self.event_names.get(str(action), str(action))}"

    # --- rules ----------------------------------------------------------------------------------

    def rule(self, action) -> T:
        try:
            return self.table[str(action)]
        except KeyError:
            raise StateError(_("未知的操作：%(action)s") % {"action": action}) from None

    def state_error(self, obj, action) -> StateError:
        t = self.rule(action)
        state = getattr(obj, self.state_field)
        msg = _("%(noun)s当前为“%(state)s”，不能%(action)s") % {
            "noun": self.noun, "state": self.state_label(state), "action": self.action_label(action)}
        if t.hint:
            msg = f"{msg}：{t.hint}"
        return StateError(msg, extra={"state": state, "action": str(action)})

    def check(self, obj, action, actor, **ctx) -> T:
        """Raise unless ``actor`` may take ``action`` on ``obj`` now. Order: jurisdiction (an
        outsider learns nothing), state, role, guards."""
        t = self.rule(action)
        if actor is not None and not in_jurisdiction(actor, self.division_of(obj)):
            raise OutOfScope()
        if getattr(obj, self.state_field) not in t.sources:
            raise self.state_error(obj, action)
        if actor is not None and t.roles is not None and not actor.has_role(*t.roles):
            raise Forbidden(t.role_message or _("您没有%(action)s的权限") % {"action": self.action_label(action)})
        for g in t.guards:
            if actor is None and not g.system:
                continue
            reason = g(obj, actor, ctx)
            if reason:
                if g.status == 403:
                    raise Forbidden(reason)
                if g.status == 409:
                    raise StateError(reason)
                if g.status == 404:
                    raise OutOfScope()
                raise GuardFailed(reason, code=g.code)
        return t

    def can(self, obj, action, actor, **ctx) -> bool:
        try:
            self.check(obj, action, actor, **ctx)
        except ApplicationError:
            return False
        return True

    def allowed(self, obj, actor, **ctx) -> list[str]:
        """The actions ``actor`` may take on ``obj`` now, in table order."""
        return [t.action for t in self.transitions if self.can(obj, t.action, actor, **ctx)]

    def is_final(self, state) -> bool:
        return not any(str(state) in t.sources for t in self.transitions)

    # --- the one move ---------------------------------------------------------------------------

    def fresh(self, obj, *, lock: bool = False):
        qs = self.model.objects.all()
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        if lock:
            qs = qs.select_for_update(of=("self",))
        return qs.get(pk=obj.pk)

    def default_snapshot(self, obj) -> dict:
        return {"state": getattr(obj, self.state_field), "version": getattr(obj, self.version_field)}

    def move(
        self, obj, action, *, actor, to_state=None, fields: dict | None = None, comment: str = "", client_key: str = "",
        via: str = "", department_id=None, due_on: dt.date | None = None, event_extra: dict | None = None,
        lost_message: str = "", checked: bool = False, emit: bool = True, **ctx,
    ):
        """Take ``action`` on ``obj`` (a fresh read of the row is checked, not the caller's copy).

        Compare-and-swap on (state, version): of two concurrent moves exactly one wins, the other
        is refused with ``lost_message``. ``fields`` are written in the same UPDATE. With
        ``client_key`` a replay returns the stored object without a second step.
        Must run inside a transaction (the services are ``@transaction.atomic``).
        """
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("Procedure.move must run inside a transaction")
        claim = None
        if client_key:
            claim = idempotency.claim(key=client_key, actor=actor, operation=f"{self.name}.{action}")
            if claim.replayed:
                return self.fresh(obj)
        current = self.fresh(obj)
        t = self.rule(action)
        if not checked:
            self.check(current, action, actor, **ctx)
        elif getattr(current, self.state_field) not in t.sources:
            raise self.state_error(current, action)
        target = str(to_state) if to_state is not None else t.target
        if target is None or target not in t.targets:
            raise ValueError(f"{self.name}.{action}: target {target!r} not in {t.targets}")
        before = (self.snapshot or self.default_snapshot)(current)
        from_state = getattr(current, self.state_field)
        now = timezone.now()
        values = dict(fields or {})
        model_fields = {f.attname for f in self.model._meta.concrete_fields}
        if target in self.closed_states and "closed_at" in model_fields:
            values.setdefault("closed_at", now)
        if "updated_at" in model_fields:
            values.setdefault("updated_at", now)
        won = self.model.objects.filter(
            pk=current.pk, **{self.state_field: from_state, self.version_field: getattr(current, self.version_field)}
        ).update(**{self.state_field: target, self.version_field: F(self.version_field) + 1}, **values)
        if not won:
            now_state = self.fresh(current)
            raise StateError(
                lost_message or _("%(noun)s刚被他人处理，当前为“%(state)s”，请刷新后重试") % {
                    "noun": self.noun, "state": self.state_label(getattr(now_state, self.state_field))},
                extra={"state": getattr(now_state, self.state_field)},
            )
        moved = self.fresh(current)
        step = self.record(moved, action=action, actor=actor, from_state=from_state, comment=comment, via=via,
                           department_id=department_id, due_on=due_on, before=before, event_extra=event_extra, emit=emit,
                           client_key=client_key)
        if claim is not None:
            claim.done(object_type=self.name, object_id=moved.pk)
        moved._last_step = step
        return moved

    def record(self, obj, *, action, actor, from_state="", comment="", via="", department_id=None, due_on=None,
               before=None, event_extra=None, emit=True, client_key="", at=None):
        """Write the step, the trace entry and (with ``emit``) the event for a move already made
        (``move`` calls this; a creation calls it with ``from_state=""``)."""

        division = self.division_of(obj)
        step = WorkflowStep.objects.create(
            procedure=self.name, object_id=obj.pk, division_code=division,
            entity_id=self.entity_id(obj) if self.entity_id else getattr(obj, "entity_id", None),
            action=str(action), from_state=str(from_state or ""), to_state=str(getattr(obj, self.state_field)),
            actor=actor if actor is not None and getattr(actor, "pk", None) else None, via=via or "",
            department_id=department_id, due_on=due_on, comment=(comment or "")[:1000], client_key=client_key or "",
            at=at or timezone.now(),
        )
        after = (self.snapshot or self.default_snapshot)(obj)
        if comment:
            after = {**after, "comment": comment}
        trace.record(actor=actor, action=f"{self.trace_action}.{action}", obj=obj, object_type=self.name, before=before,
                     after=after, division_code=division)
        if emit:
            payload = self.payload(obj, **(event_extra or {})) if self.payload else {"id": obj.pk, **(event_extra or {})}
            events.emit(self.event_name(action), payload=payload, division_code=division, object_type=self.name,
                        object_id=str(obj.pk))
        return step

    def steps_rows(self, objs_and_steps, *, at=None) -> list:
        """Unsaved ``WorkflowStep`` rows for bulk creation: ``[(obj, action, from_state, actor, comment)]``."""

        at = at or timezone.now()
        return [
            WorkflowStep(procedure=self.name, object_id=o.pk, division_code=self.division_of(o),
                         entity_id=self.entity_id(o) if self.entity_id else getattr(o, "entity_id", None),
                         action=str(a), from_state=str(f or ""), to_state=str(to), actor=actor if actor is not None and getattr(actor, "pk", None) else None,
                         comment=(c or "")[:1000], at=at)
            for o, a, f, to, actor, c in objs_and_steps
        ]

    def timeline(self, obj):
        """The steps of ``obj``, oldest first."""

        return WorkflowStep.objects.filter(procedure=self.name, object_id=obj.pk).select_related("actor").order_by("at", "id")


def procedure_of(name: str) -> Procedure | None:
    return PROCEDURES.get(name)
