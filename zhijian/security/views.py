"""Audit-log pages for the audit administrator: list with filters, CSV export (itself audited)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.exports import csv_lines

from . import audit
from .choices import AuditEvent
from .filters import AuditLogFilter
from .models import AuditLog
from .roles import is_audit_admin

EXPORT_LIMIT = 100_000


def _require_audit_admin(request):
    if not is_audit_admin(request.user):
        raise PermissionDenied


def audit_list(request):
    _require_audit_admin(request)
    filterset = AuditLogFilter(request.GET or None, queryset=AuditLog.objects.select_related("user"))
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "security/audit_list.html", {"filter": filterset, "page": page, "query": query.urlencode()})


def audit_export(request):
    _require_audit_admin(request)
    filterset = AuditLogFilter(request.GET or None, queryset=AuditLog.objects.select_related("user"))
    rows = filterset.qs[:EXPORT_LIMIT]
    audit.record(AuditEvent.EXPORT, user=request.user, request=request, object_type="security.auditlog",
                 detail={"filters": {k: request.GET.getlist(k) for k in request.GET}, "format": "csv"})
    header = [_("时间"), _("用户名"), _("IP 地址"), _("事件"), _("结果"), _("对象类型"), _("对象标识"), _("对象"), _("详情")]

    def stream():
        yield header  # csv_lines adds the BOM: Excel opens UTF-8 CSV correctly
        for row in rows.iterator(chunk_size=2000):
            yield [
                timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M:%S"), row.username, row.ip or "",
                row.get_event_display(), row.get_outcome_display(), row.object_type, row.object_id, row.object_repr,
                row.detail,
            ]

    response = StreamingHttpResponse(csv_lines(stream()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    return response
