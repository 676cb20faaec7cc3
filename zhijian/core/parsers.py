"""JSON from outside, read with limits: nesting depth, size, encoding — and Chinese messages.

Python's ``json`` recurses once per nesting level: a body of 100,000 ``[`` raises ``RecursionError``
(a 500), and a document a few hundred levels deep passes the parser only to break the code that walks
it. Every JSON a person or a system sends — API bodies (:class:`JSONParser`, installed as DRF's
default), grid GeoJSON files, uploaded JSON — is read by :func:`loads`, which measures the nesting
without recursion *before* parsing and refuses anything deeper than :data:`MAX_DEPTH` (64: GeoJSON
needs about 10, the API's bodies fewer), and turns every failure into :class:`JSONProblem`, a
``ValueError`` whose text is a Chinese sentence naming the line and column.
"""
from __future__ import annotations

import json
import re

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from . import text as text_rules
from .errors import ApplicationError

MAX_DEPTH = 64

# Everything but the bytes that make structure: brackets and the quotes that delimit strings.
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"')
_CHUNK = 1 << 20


class JSONProblem(ValueError):
    """JSON refused: ``str()`` (and ``message``) is the Chinese reason; ``where`` the line and
    column of a syntax error ("" for other problems)."""

    def __init__(self, message: str, *, code: str = "invalid_json", where: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.where = where


def nesting_depth(data: str | bytes, limit: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON ``data``, found without recursion (about
    50 ms for a 20 MB body). With ``limit`` counting stops once it is exceeded.

    Escaped backslashes and quotes go first (pairs, left to right, as JSON reads them), then every
    byte but brackets and quotes, then the strings (now quote, brackets, quote); what is left is
    the structure, whose running depth numpy sums. For the part of a malformed text that JSON
    would read before its error this is exact, so the parser never recurses deeper than measured."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = bytes(data).replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    data = _STRING.sub(b"", data).translate(None, b'"')
    deepest = depth = 0
    for start in range(0, len(data), _CHUNK):
        part = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - start), offset=start)
        levels = np.cumsum(np.where((part == 0x5B) | (part == 0x7B), 1, -1).astype(np.int32)) + depth
        deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
        if limit is not None and deepest > limit:
            break
    return deepest


def _constant(name: str):
    raise JSONProblem(_("JSON 中不允许 %(name)s（只允许有限的数字）") % {"name": name})


def _where(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return _("第 %(line)d 行第 %(col)d 列") % {"line": exc.lineno, "col": exc.colno}
    return ""


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH, what: str = ""):
    """Parse JSON from outside: refuse nesting deeper than ``max_depth``, NaN/Infinity, bad UTF-8
    and malformed text with a :class:`JSONProblem` in Chinese. ``what`` names the input in messages
    (default "JSON")."""
    what = what or "JSON"
    what += " " if what[-1].isascii() else ""  # "JSON 格式错误", "请求体格式错误"
    depth = nesting_depth(data, max_depth)
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONProblem(_("%(what)s不是 UTF-8 编码的文本（第 %(pos)d 个字节无法解码）") % {"what": what, "pos": exc.start + 1},
                              code="bad_encoding") from None
    elif data.startswith("\ufeff"):
        data = data[1:]
    if depth > max_depth:
        raise JSONProblem(_("%(what)s的数组和对象嵌套超过 %(n)d 层，拒绝解析") % {"what": what, "n": max_depth}, code="too_deep")
    try:
        return json.loads(data, parse_constant=_constant)
    except JSONProblem:
        raise
    except RecursionError:  # not reached after the depth check; kept so no path can answer a 500
        raise JSONProblem(_("%(what)s的数组和对象嵌套过深，拒绝解析") % {"what": what}, code="too_deep") from None
    except ValueError as exc:
        where = _where(exc)
        if where:
            raise JSONProblem(_("%(what)s格式错误（%(where)s）") % {"what": what, "where": where}, where=where) from None
        # Not a syntax error: e.g. an integer of thousands of digits (Python refuses those).
        raise JSONProblem(_("%(what)s含有无法解析的值（如过长的数字）") % {"what": what}) from None


def max_body_bytes() -> int:
    """The largest JSON body the API reads: the request limit (the phone's sync carries its files
    in the body, as base64)."""
    return int(getattr(settings, "API_JSON_MAX_BYTES", 0) or settings.MAX_REQUEST_BYTES)


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int):
        super().__init__(_("请求体过大：JSON 请求体上限 %(mb).1f MB") % {"mb": limit / (1024 * 1024)}, code="too_large")


class JSONParser(BaseParser):
    """DRF's JSON parser with limits: at most :func:`max_body_bytes` read (413 beyond, even when the
    length was not declared), nesting at most :data:`MAX_DEPTH` deep, and every refusal a 400
    in Chinese naming the line and column and the body's size — never a 500."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(limit)
        encoding = ((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET).lower()
        if encoding.replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
            try:
                text = raw.decode(encoding)
            except (LookupError, UnicodeError):
                raise ParseError(_("请求体无法按 %(enc)s 解码：请使用 UTF-8 编码的 JSON") % {"enc": encoding[:40]}) from None
        else:
            text = raw
        try:
            data = loads(text, what=_("请求体"))
        except JSONProblem as exc:
            raise ParseError(_("%(reason)s（请求体共 %(n)d 字节）") % {"reason": exc.message, "n": len(raw)}, code=exc.code) from None
        refuse_control_characters(data)
        return data


def refuse_control_characters(data) -> None:
    """The input rule (``core.text``) over a parsed body: the first string holding a control
    character other than tab/newline refuses the request, naming the field."""
    found = text_rules.first_problem(data)
    if found is not None:
        where, value, problem = found
        raise ApplicationError(text_rules.message(problem, value), code="control_character",
                               extra={"field": where, "char": problem.codepoint, "position": problem.position})
