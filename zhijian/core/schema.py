"""The published API schema says what the API does (drf-spectacular's AutoSchema, adjusted once here).

- **Errors in every operation.** Every operation lists the statuses it can answer besides success —
  400 (a parameter, field or page that cannot be satisfied), 401 (no or an invalid credential), 403,
  404 (missing or outside the caller's jurisdiction; a list page past the last), 409 (the object's
  state changed or forbids the step), 429 (too many requests) and, for an operation with a body, 413
  and 415 — each with the one error shape, the ``ApiError`` component
  (``{"error": {"code", "message", "detail"}}``, the message in Chinese). 414 (a request line
  over gunicorn's 4 KB) is the web server's own HTML page, and documented as such.
- **One object is one object.** A plain ``ViewSet`` (no queryset: a report such as ``stats/push`` or
  ``trace/verify``) answers its ``list`` with the one object its schema names; drf-spectacular would
  publish it as an array of such objects. Only a list serializer (``many=True``) makes it an array.

``tests/entities/test_web.py`` generates the schema with ``--fail-on-warn --validate`` and
``scripts/schemathesis.py`` checks every operation's answers against it on a live demo city.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.plumbing import is_list_serializer
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.generics import GenericAPIView


class ApiErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("机器可读的错误代码，如 invalid、not_found、illegal_state、bad_page"))
    message = serializers.CharField(help_text=_("给人看的中文说明"))
    detail = serializers.JSONField(help_text=_("细节：字段错误按字段列出（{字段: [说明]}），其余错误多为空对象"))


class ApiErrorSerializer(serializers.Serializer):
    """Every error the API answers."""

    error = ApiErrorBodySerializer()


ERRORS = {
    "400": _("请求有误：参数、字段或页码不合规（message 说明原因，detail 按字段列出）"),
    "401": _("未提供身份凭证或凭证无效（匿名调用）"),
    "403": _("无权执行此操作"),
    "404": _("对象不存在或不在您的辖区内；列表页码超出末页"),
    "409": _("对象当前状态不允许此操作，或已被他人改动（请刷新后重试）"),
    "429": _("请求过于频繁，请稍后再试"),
}
# The web server (gunicorn) refuses a request line over 4 KB itself, with an HTML page.
URI_TOO_LONG = _("请求地址过长（由 Web 服务器答复，HTML 页面）")
BODY_ERRORS = {
    "413": _("请求内容过大"),
    "415": _("不支持该请求内容类型"),
}


class AutoSchema(openapi.AutoSchema):
    def _is_list_view(self, serializer=None) -> bool:
        if isinstance(self.view, GenericAPIView):
            return super()._is_list_view(serializer)
        if serializer is None:
            serializer = self.get_response_serializers()
        if isinstance(serializer, dict) and serializer:
            serializer = {str(code): s for code, s in serializer.items()}
            serializer = serializer[min(serializer)]
        return is_list_serializer(serializer)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ApiErrorSerializer, description=str(description)), code, direction=direction)
        responses.setdefault("414", {"description": str(URI_TOO_LONG), "content": {"text/html": {"schema": {"type": "string"}}}})
        return responses
