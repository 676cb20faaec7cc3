"""API base pieces: pagination, one error format, the scoped viewset base, names for codes.

Names for codes. A person (or a client showing the API to one) never needs a code's meaning from
elsewhere: every serializer built on :class:`DisplayModelSerializer` (or :class:`DisplayFieldsMixin`)
gets a ``<field>_display`` next to

- each choice field (``state`` → ``state_display`` "已受领"), and each field whose model has a
  ``get_<field>_display`` (the workflow steps' ``action``, the ledger's ``action``);
- each reference-coded field named in :data:`CODE_NAMES` (``division_code`` → the division's
  name, ``industry_code`` → the industry's name, ``business_line`` → the line's name; list fields
  such as ``business_lines`` give a list of names). The apps that own the reference tables fill
  the registry in their ``AppConfig.ready()`` (core sits below them), with a resolver taking a set
  of codes and returning ``{code: name}``: a page of results costs one query per kind of code.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Callable, Iterable

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from .errors import ApplicationError

_CJK = re.compile(r"[\u4e00-\u9fff]")

# What a person reads when DRF (or Python, through DRF) has only English to say: a JSON parse error
# carries the parser's own text, an unsupported media type names the type in English.
FALLBACK_MESSAGES = {
    400: gettext_lazy("请求无法处理：内容不完整或格式不正确"),
    401: gettext_lazy("未登录或身份凭证无效"),
    403: gettext_lazy("您没有执行此操作的权限"),
    404: gettext_lazy("不存在或不在您的辖区内"),
    405: gettext_lazy("不支持该请求方法"),
    406: gettext_lazy("无法以请求的格式答复"),
    409: gettext_lazy("状态已变化，请刷新后重试"),
    413: gettext_lazy("请求内容过大"),
    415: gettext_lazy("不支持该请求内容类型"),
    429: gettext_lazy("请求过于频繁，请稍后再试"),
}


def _first_message(errors) -> str:
    """The first message in a (nested) DRF error structure."""
    if isinstance(errors, Mapping):
        for value in errors.values():
            found = _first_message(value)
            if found:
                return found
        return ""
    if isinstance(errors, (list, tuple)):
        for value in errors:
            found = _first_message(value)
            if found:
                return found
        return ""
    return str(errors)


def validation_message(detail) -> str:
    """A sentence naming the fields a validation error is about ("place_name：该字段是必填项。")"""
    if isinstance(detail, Mapping):
        parts = []
        for field, errors in list(detail.items())[:3]:
            text = _first_message(errors)
            if text:
                parts.append(text if field == "non_field_errors" else _("%(field)s：%(message)s") % {"field": field, "message": text})
        if len(detail) > 3:
            parts.append(_("等 %(n)d 项") % {"n": len(detail)})
        return "；".join(parts)
    return _first_message(detail)


def exception_handler(exc, context):
    """Every error leaves the API as ``{"error": {"code", "message", "detail"}}``, its message in Chinese."""
    if isinstance(exc, ApplicationError):
        return Response({"error": {"code": exc.code, "message": str(exc.message), "detail": exc.extra}}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message, detail = str(detail["detail"]), {}
    elif isinstance(exc, exceptions.ValidationError):
        message = validation_message(detail) or str(exc.default_detail)
    else:
        message = str(getattr(exc, "default_detail", ""))
    if not _CJK.search(message):
        message = str(FALLBACK_MESSAGES.get(response.status_code, FALLBACK_MESSAGES[400]))
    response.data = {"error": {"code": code, "message": message, "detail": detail}}
    return response


class ScopedViewSetMixin:
    """Querysets come through ``.scoped(request.user)``: out-of-scope objects are a 404."""

    def get_queryset(self):
        return super().get_queryset().scoped(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


# --- strict input: a write names only fields it may change --------------------------------------------------

class StrictInputMixin:
    """A write that sends a field it cannot change is refused with 400 naming the field, never applied
    or silently ignored: a read-only field of the resource (``status`` in a PATCH of an entity: it has
    its own action) or a field the operation does not know (a typo such as ``legal_reps``).

    ``resource`` is the serializer clients read the object with: its fields that this input does not
    take are the read-only ones. ``refuse_unknown = False`` keeps accepting unknown fields (for a client
    that sends extra ones, e.g. the phone's sync)."""

    resource: type[serializers.Serializer] | None = None
    refuse_unknown = True

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            self.refuse_fields(data)
        return super().to_internal_value(data)

    def read_only_names(self) -> set[str]:
        names = {name for name, field in self.fields.items() if field.read_only}
        if self.resource is not None:
            names |= set(self.resource().fields)
        return names - {name for name, field in self.fields.items() if not field.read_only}

    def refuse_fields(self, data) -> None:
        writable = {name for name, field in self.fields.items() if not field.read_only}
        read_only = self.read_only_names()
        errors, refused_read_only = {}, []
        for key in data.keys():
            if key in writable:
                continue
            if key in read_only:
                errors[key] = [_("只读字段，不能在此修改")]
                refused_read_only.append(key)
            elif self.refuse_unknown:
                errors[key] = [_("未知字段")]
        if not errors:
            return
        if refused_read_only:
            raise ApplicationError(_("不能修改只读字段：%(fields)s") % {"fields": "、".join(refused_read_only)},
                                   code="read_only_field", extra=errors)
        raise ApplicationError(_("未知字段：%(fields)s") % {"fields": "、".join(errors)}, code="unknown_field", extra=errors)


class StrictInput(StrictInputMixin, serializers.Serializer):
    """The base of the API's input serializers (see :class:`StrictInputMixin`)."""


class ReasonInput(StrictInput):
    """The body of a step that needs a reason (return, refuse, cancel …)."""

    reason = serializers.CharField(max_length=500)


# --- names for codes ------------------------------------------------------------------------------------------

# serializer field name → resolver(set of codes) → {code: name}; filled by the apps owning the tables.
CODE_NAMES: dict[str, Callable[[set[str]], dict[str, str]]] = {}


# Names of reference codes change rarely (a new division list, an edited business line): each process
# keeps what it has looked up for a few minutes, so a page of 50 rows costs no query per row.
NAME_CACHE_SECONDS = 300
NAME_CACHE_SIZE = 20_000
_name_cache: dict[tuple[int, str], tuple[float, str | None]] = {}


def clear_code_name_cache() -> None:
    _name_cache.clear()


def _cached(resolver: Callable[[set[str]], dict[str, str]]) -> Callable[[set[str]], dict[str, str]]:
    key = id(resolver)

    def resolve(codes: set[str]) -> dict[str, str]:
        now = time.monotonic()
        out, missing = {}, set()
        for code in codes:
            hit = _name_cache.get((key, code))
            if hit is not None and now - hit[0] < NAME_CACHE_SECONDS:
                if hit[1] is not None:
                    out[code] = hit[1]
            else:
                missing.add(code)
        if missing:
            found = resolver(missing)
            if len(_name_cache) + len(missing) > NAME_CACHE_SIZE:
                _name_cache.clear()
            for code in missing:
                _name_cache[(key, code)] = (now, found.get(code))
            out.update(found)
        return out

    return resolve


def register_code_names(resolver: Callable[[set[str]], dict[str, str]], *field_names: str) -> None:
    """``resolver`` names the codes held in fields called ``field_names`` (in any serializer and in
    templates through ``{{ value|code_name:"field_name" }}``)."""
    cached = _cached(resolver)
    for name in field_names:
        CODE_NAMES[name] = cached


def code_names(field_name: str, codes: Iterable[str]) -> dict[str, str]:
    """``{code: name}`` for ``codes`` of the kind held in ``field_name`` (unknown codes left out)."""
    resolver = CODE_NAMES.get(field_name)
    wanted = {str(c) for c in codes if c not in (None, "")}
    return resolver(wanted) if resolver and wanted else {}


def _codes_in(value) -> list[str]:
    """The codes in a field's value: one code, a list of codes, or several joined by commas."""
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v not in (None, "")]
    return [c.strip() for c in str(value).split(",") if c.strip()]


def name_of(field_name: str, value, names: dict[str, str] | None = None) -> str:
    """What a person reads for ``value`` of a reference-coded field: the name(s), "、"-joined."""
    codes = _codes_in(value)
    names = code_names(field_name, codes) if names is None else names
    return "、".join(names.get(c) or c for c in codes)


class _CodeName(serializers.Field):
    """The name of the reference code in ``source`` (a list of names when it holds a list)."""

    def __init__(self, kind: str, **kwargs):
        self.kind = kind
        super().__init__(read_only=True, **kwargs)

    def _names(self, codes) -> dict[str, str]:
        cache = self.root.__dict__.setdefault("_code_names", {}).setdefault(self.kind, {})
        missing = [c for c in codes if c not in cache]
        if missing:
            cache.update({c: None for c in missing})
            cache.update(code_names(self.kind, missing))
        return cache

    def to_representation(self, value):
        codes = _codes_in(value)
        names = self._names(codes)
        if isinstance(value, (list, tuple, set)):
            return [names.get(c) or c for c in codes]
        if len(codes) > 1:
            return name_of(self.kind, value, names)
        # A code that is not in the reference table (yet) has no name to show: null, never the code.
        return names.get(codes[0]) if codes else ""


@extend_schema_field({"type": "string", "nullable": True})  # null: a code not (yet) in the reference table
class CodeNameField(_CodeName):
    pass


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class CodeNamesField(_CodeName):
    pass


class ChoiceDisplayField(serializers.CharField):
    """The label of a serializer choice field's value."""

    def __init__(self, choices: dict, **kwargs):
        self.labels = {str(k): v for k, v in choices.items()}
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        if value in (None, ""):
            return ""
        return str(self.labels.get(str(value), value))


class DisplayListSerializer(serializers.ListSerializer):
    """A list of display serializers: every code of a page is named with one query per kind."""

    def to_representation(self, data):
        items = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        self.child.prime_code_names(items)
        return [self.child.to_representation(item) for item in items]


class DisplayFieldsMixin:
    """Adds ``<field>_display`` for every choice field and every reference-coded field (module doc)."""

    @classmethod
    def many_init(cls, *args, **kwargs):
        serializer = super().many_init(*args, **kwargs)
        if type(serializer) is serializers.ListSerializer:
            # DRF builds the list wrapper itself; ours differs only in naming the page's codes in bulk.
            serializer.__class__ = DisplayListSerializer
        return serializer

    def get_fields(self):
        fields = super().get_fields()
        model = getattr(getattr(self, "Meta", None), "model", None)
        for name, field in list(fields.items()):
            display = f"{name}_display"
            if field.write_only or display in fields or name.endswith("_display"):
                continue
            source = field.source if field.source and field.source != "*" else name
            simple = "." not in source
            if simple and model is not None and callable(getattr(model, f"get_{source}_display", None)):
                fields[display] = serializers.CharField(source=f"get_{source}_display", read_only=True)
            elif isinstance(field, serializers.ChoiceField) and not isinstance(field, serializers.MultipleChoiceField):
                fields[display] = ChoiceDisplayField(field.choices, source=source)
            elif name in CODE_NAMES or (simple and source in CODE_NAMES):
                kind = name if name in CODE_NAMES else source
                many = isinstance(field, serializers.ListField) or _is_array(model, source)
                fields[display] = (CodeNamesField if many else CodeNameField)(kind, source=source)
        return fields

    def prime_code_names(self, items) -> None:
        """Name the codes of ``items`` (one query per kind) before they are represented one by one."""
        by_kind: dict[str, set[str]] = {}
        for field in self.fields.values():
            if isinstance(field, _CodeName):
                codes = by_kind.setdefault(field.kind, set())
                for item in items:
                    try:
                        codes.update(_codes_in(field.get_attribute(item)))
                    except (AttributeError, KeyError, TypeError):
                        continue
        cache = self.root.__dict__.setdefault("_code_names", {})
        for kind, codes in by_kind.items():
            known = cache.setdefault(kind, {})
            missing = codes - set(known)
            if missing:
                known.update({c: None for c in missing})
                known.update(code_names(kind, missing))


def _is_array(model, source: str) -> bool:
    if model is None:
        return False
    try:
        field = model._meta.get_field(source)
    except FieldDoesNotExist:
        return False
    return field.get_internal_type() in ("ArrayField", "JSONField")


class DisplayModelSerializer(StrictInputMixin, DisplayFieldsMixin, serializers.ModelSerializer):
    """A model serializer whose codes also come with their names (``<field>_display``). Used for a
    write, it refuses read-only and unknown fields (:class:`StrictInputMixin`)."""

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        # DRF drops allow_blank from a field made read-only by Meta.read_only_fields; the value read can
        # still be "" (a blank choice), and the published schema must say so.
        blank = kwargs.get("allow_blank")
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank and kwargs.get("read_only"):
            kwargs["allow_blank"] = True
        return kwargs
