"""Input rules for text, once: no control characters in anything a person or a system submits.

A C0 control character (U+0000–U+001F) or DEL in a stored text does no good and real harm: it cannot
be written to an .xlsx cell (one address ending in U+0015 once broke a district's whole export), it
corrupts CSV and XML exchanges, and it hides text from the person reading it. Multi-line text may hold
tab, line feed and carriage return; single-line text none of them.

Three places apply the same rule (``control_problem``):

- every ``CharField``/``TextField`` of the project's models carries ``NoControlCharacters``
  (installed at start-up by ``install_model_validators``; ``TextField`` is multi-line, ``CharField``
  single-line). Model forms, the admin, model serializers and the services' ``full_clean`` refuse with
  the field's own label;
- ``ControlCharacterMiddleware`` refuses any request whose form fields or query string hold a control
  character other than tab/newline (plain forms included), and the API's JSON parser
  (``core.parsers``) any body holding one (plain serializers, the phone's sync and a department
  system's feedback all pass there), with a 400 that says where;
- the importers call ``control_problem`` per cell and reject the row (nothing of it is written).

The rule is not applied to stored data retroactively; exports drop what .xlsx cannot hold
(``core.exports.cell``) so an old row never breaks a file.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.core.exceptions import BadRequest, RequestDataTooBig, ValidationError
from django.db import models
from django.http import JsonResponse
from django.urls import get_resolver
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

# Multi-line text may keep \t (09), \n (0a), \r (0d).
_MULTI = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SINGLE = re.compile(r"[\x00-\x1f\x7f]")
# A JSON body escapes control characters as \u00XX; this finds the forbidden ones (and raw bytes)
# cheaply before anything is parsed twice.
_JSON_HINT = re.compile(rb"\\u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F]|7[fF])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    position: int  # 1-based character position
    char: str

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"

    def snippet(self, value: str) -> str:
        """The text around the character with every control character shown as a visible symbol."""
        start = max(0, self.position - 9)
        part = value[start:self.position + 8]
        shown = "".join(chr(0x2400 + ord(c)) if ord(c) < 0x20 else "␡" if c == "\x7f" else c for c in part)
        return ("…" if start else "") + shown + ("…" if self.position + 8 < len(value) else "")


def control_problem(value, *, multiline: bool = False) -> Problem | None:
    """The first forbidden control character in ``value`` (None when the text is clean)."""
    if not isinstance(value, str) or not value:
        return None
    m = (_MULTI if multiline else _SINGLE).search(value)
    return Problem(m.start() + 1, m.group()) if m else None


def message(problem: Problem, value: str, label: str = "") -> str:
    where = _("“%(label)s”") % {"label": label} if label else _("提交的内容")
    return _("%(where)s含有不可见的控制字符 %(cp)s（第 %(pos)d 个字符，见“%(snippet)s”），通常来自复制粘贴，请删除后重新提交。") % {
        "where": where, "cp": problem.codepoint, "pos": problem.position, "snippet": problem.snippet(value)}


def check(value, *, label: str = "", multiline: bool = False) -> None:
    """Raise ``ValidationError`` (Chinese, naming ``label``) when ``value`` holds a control character."""
    problem = control_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationError(message(problem, value, label), code="control_character")


@deconstructible
class NoControlCharacters:
    """Model-field validator; ``multiline`` keeps tab and newlines."""

    code = "control_character"

    def __init__(self, multiline: bool = False, label: str = ""):
        self.multiline = multiline
        self.label = label

    def __call__(self, value):
        check(value, label=self.label, multiline=self.multiline)

    def __eq__(self, other):
        return isinstance(other, NoControlCharacters) and (self.multiline, self.label) == (other.multiline, other.label)


def install_model_validators(app_configs) -> int:
    """Give every text field of the given apps' models the control-character validator.

    Set on the field's cached ``validators`` (not ``_validators``), so migrations do not see it.
    Returns the number of fields covered.
    """
    n = 0
    for config in app_configs:
        for model in config.get_models():
            for f in model._meta.local_fields:
                if not isinstance(f, (models.CharField, models.TextField)):
                    continue
                current = list(f.validators)
                if any(isinstance(v, NoControlCharacters) for v in current):
                    continue
                current.append(NoControlCharacters(multiline=isinstance(f, models.TextField), label=str(f.verbose_name)))
                f.__dict__["validators"] = current
                n += 1
    return n


# --- the request boundary ------------------------------------------------------------------------------
def _walk(data, path: str = ""):
    """(path, text) for every string in a parsed JSON document, keys included."""
    stack = [(path, data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            yield where, node
        elif isinstance(node, dict):
            for k, v in node.items():
                key = f"{where}.{k}" if where else str(k)
                yield key, str(k)
                stack.append((key, v))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))


def first_problem(data) -> tuple[str, str, Problem] | None:
    """(path, text, problem) of the first string in parsed JSON holding a control character other than
    tab/newline (keys included), else None."""
    for where, v in _walk(data):
        p = control_problem(v, multiline=True)
        if p:
            return where, v, p
    return None


def request_problem(request) -> tuple[str, str, Problem] | None:
    """(field, value, problem) for the first control character in the request's query or form fields,
    or in a JSON body sent to a page (API bodies are checked by the API's parser, ``core.parsers``,
    which reads them as a stream: no size cap here)."""
    for key, values in request.GET.lists():
        for v in [key, *values]:
            p = control_problem(v, multiline=True)
            if p:
                return key, v, p
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        ctype = (request.content_type or "").lower()
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, values in request.POST.lists():
                for v in [key, *values]:
                    p = control_problem(v, multiline=True)
                    if p:
                        return key, v, p
        elif ctype.endswith("json") and not request.path.startswith("/api/"):
            try:
                body = request.body
            except RequestDataTooBig:
                return None  # the view refuses it as too large
            if _JSON_HINT.search(body):
                try:
                    data = json.loads(body, strict=False)
                except (ValueError, RecursionError):
                    return None  # the view answers a broken body itself
                return first_problem(data)
    return None


class ControlCharacterMiddleware:
    """Refuse (400) any request whose input holds a control character other than tab and newlines."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = request_problem(request)
        if found is not None:
            field, value, problem = found
            text = message(problem, value)
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "control_character", "message": text,
                                               "detail": {"field": field, "char": problem.codepoint, "position": problem.position}}},
                                    status=400)
            # The project's 400 handler renders the page (answering here, not raising: a person's
            # pasted character is not an incident worth a logged traceback).
            return get_resolver().resolve_error_handler(400)(request, exception=BadRequest(text))
        return self.get_response(request)
