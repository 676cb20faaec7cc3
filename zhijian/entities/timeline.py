"""One timeline of everything about an entity: a registry the apps above fill.

The registry sits low (entities); the things about an entity — tasks, inspections and their
documents, draws, pushes, grid cases and warnings, clues — live in apps above it. Each app
registers a provider in its ``AppConfig.ready()``::

    from zhijian.entities import timeline

    timeline.register("supervision.tasks", provider)

``provider(entity_id, limit) -> list[Row]`` returns at most ``limit`` rows, newest first, read by an
indexed lookup on the entity id (never a scan: an entity page at 7.3 million entities and a
million tasks must stay fast). The page merges the providers' rows, newest first, and pages them.
``steps(...)`` is the provider for a procedure of the workflow kernel: its steps carry the entity id
(``core.WorkflowStep.entity_id``, indexed).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from django.utils.translation import gettext as _

from zhijian.core.models import WorkflowStep

from .models import EntityChange

PER_PAGE = 20
MAX_PAGE = 50  # deeper history is read on the items' own pages


@dataclass
class Row:
    at: dt.datetime | dt.date
    kind: str  # the Chinese name of what it is (监管任务, 现场检查 …)
    title: str
    text: str = ""
    url: str = ""

    @property
    def when(self) -> dt.datetime:
        if isinstance(self.at, dt.datetime):
            return self.at if timezone.is_aware(self.at) else timezone.make_aware(self.at)
        return timezone.make_aware(dt.datetime.combine(self.at, dt.time.max.replace(microsecond=0)))


_providers: dict[str, Callable[[int, int], list[Row]]] = {}


def register_steps(name: str, **options) -> None:
    """Register the steps of a procedure (``steps``' keyword arguments) as the provider ``name``."""
    register(name, lambda entity_id, limit: steps(entity_id, limit, **options))


def register(name: str, provider: Callable[[int, int], list[Row]]) -> None:
    """Register (or replace) the provider ``name``."""
    _providers[name] = provider


def unregister(name: str) -> None:
    _providers.pop(name, None)


def providers() -> dict[str, Callable[[int, int], list[Row]]]:
    return dict(_providers)


@dataclass
class Page:
    rows: list[Row]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def for_entity(entity_id: int, *, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``page`` of the entity's timeline, newest first."""
    page = max(1, min(int(page or 1), MAX_PAGE))
    need = page * per_page + 1
    rows: list[Row] = []
    for provider in _providers.values():
        rows.extend(provider(entity_id, need))
    rows.sort(key=lambda r: r.when, reverse=True)
    start = (page - 1) * per_page
    return Page(rows[start:start + per_page], page, len(rows) > start + per_page)


def steps(entity_id: int, limit: int, *, procedure: str, kind, model, title: Callable | None = None, url: Callable | None = None,
          related: tuple = ()) -> list[Row]:
    """The steps of ``procedure`` about the entity, newest first, each linking to its object."""
    found = list(WorkflowStep.objects.filter(entity_id=entity_id, procedure=procedure).select_related("actor")
                 .order_by("-at", "-id")[:limit])
    objects = model.objects.select_related(*related).in_bulk({s.object_id for s in found})
    out = []
    for s in found:
        obj = objects.get(s.object_id)
        if obj is None:
            continue
        label, state = s.action_label, s.to_state_label
        text = label + (f" → {state}" if state and state != label else "")
        if s.actor_id:
            text += f"（{s.actor}）"
        if s.comment:
            text += f"：{s.comment}"
        link = url(obj) if url else (obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else "")
        out.append(Row(at=s.at, kind=str(kind), title=title(obj) if title else str(obj), text=text, url=link))
    return out


def registry_changes(entity_id: int, limit: int) -> list[Row]:
    """The registry's own history of the entity (登记变更), by the entity's index."""
    found = EntityChange.objects.filter(entity_id=entity_id).select_related("actor").order_by("-at", "-id")[:limit]
    return [Row(at=c.at, kind=_("登记变更"), title=c.get_kind_display(), text=(c.note or "") + (f"（{c.actor}）" if c.actor_id else ""))
            for c in found]


register("entities.changes", registry_changes)
