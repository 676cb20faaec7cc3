"""Error pages in Chinese with the site's navigation and the reason (400, 403, 404, 500, CSRF).

The reason is the exception's message when it is one a person can read (the Chinese messages of
``PermissionDenied`` and ``Http404`` raised by views and services); Django's own English texts
("No Task matches the given query.", "Resolver404") are replaced by the page's Chinese sentence.
Under /api/ the answer is the API's JSON error shape instead of a page.
"""
from __future__ import annotations

import re

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.http import HttpResponseServerError
from django.utils.translation import gettext as _

CJK = re.compile(r"[\u4e00-\u9fff]")


def readable_reason(exception) -> str:
    message = ""
    if exception is not None:
        args = getattr(exception, "args", ())
        message = str(args[0]) if args and isinstance(args[0], str) else str(exception) if isinstance(exception, str) else ""
    return message if CJK.search(message or "") else ""


def _answer(request, status: int, template: str, code: str, default: str, exception=None):
    reason = readable_reason(exception)
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": code, "message": reason or default, "detail": {}}}, status=status)
    return render(request, template, {"reason": reason, "default_reason": default, "status": status}, status=status)


def bad_request(request, exception=None):
    return _answer(request, 400, "400.html", "bad_request", _("请求无法处理：内容不完整或格式不正确。"), exception)


def permission_denied(request, exception=None):
    return _answer(request, 403, "403.html", "permission_denied", _("您没有执行此操作的权限。"), exception)


def page_not_found(request, exception=None):
    reason = readable_reason(exception)
    if reason and len(reason) <= 12 and not re.search(r"[。，；：！？,.;:!?]", reason):
        # scoped lookups raise Http404(<model's verbose name>): "市场主体" → a sentence
        exception = Http404(_("该%(thing)s不存在或不在您的辖区内。") % {"thing": reason})
    return _answer(request, 404, "404.html", "not_found", _("该页面不存在或不在您的辖区内。"), exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "server_error", "message": _("服务器内部错误，已记录，请稍后再试。"), "detail": {}}}, status=500)
    try:  # the request may be the cause: render without the user's context if need be
        return render(request, "500.html", {"status": 500}, status=500)
    except Exception:  # noqa: BLE001
        return HttpResponseServerError(loader.get_template("500.html").render({"status": 500}))


def csrf_failure(request, reason=""):
    return _answer(request, 403, "403_csrf.html", "csrf_failed", _("页面已过期或来源无法确认（CSRF 校验失败），请返回上一页刷新后重试。"))
