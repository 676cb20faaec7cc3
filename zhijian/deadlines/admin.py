"""Admin: the system administrator edits holidays and deadline rules — through the
services, so every edit is validated, traced and (holidays) recomputes the provisional clocks;
numbers, clocks and leases are read-only."""
import datetime as dt
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from django.utils import timezone

from zhijian.core import trace
from zhijian.core.admin import coded, labelled
from zhijian.security.roles import is_system_admin

from . import services
from .models import Clock, DeadlineRule, DocumentSequence, Holiday, SweepLease


def _is_system_admin(request) -> bool:
    return is_system_admin(request.user)  # by role (三员分立), not is_staff / is_superuser


class SystemAdminEditable(admin.ModelAdmin):
    """Staff with the view permission may look; only system administrators change."""

    def has_add_permission(self, request):
        return _is_system_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_system_admin(request)

    def has_delete_permission(self, request, obj=None):
        return _is_system_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_system_admin(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return _is_system_admin(request) or super().has_module_permission(request)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return _is_system_admin(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return _is_system_admin(request) or super().has_module_permission(request)


LINE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})(?:\s*(?:至|~|—|-{1,2}|到)\s*(\d{4}-\d{1,2}-\d{1,2}))?\s+(休|班)\s*(.*?)\s*$")


def parse_schedule(text: str, year: int) -> list[dict]:
    """Lines "2027-02-06 至 2027-02-12 休 春节" / "2027-02-14 班 春节调休" → holiday rows."""
    rows, errors = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = LINE.match(line)
        if not m:
            errors.append(_("第 %(n)d 行无法识别：%(line)s") % {"n": n, "line": line.strip()})
            continue
        try:
            first = dt.date.fromisoformat("-".join(f"{int(x):02d}" if i else x for i, x in enumerate(m[1].split("-"))))
            last = dt.date.fromisoformat("-".join(f"{int(x):02d}" if i else x for i, x in enumerate(m[2].split("-")))) if m[2] else first
        except ValueError:
            errors.append(_("第 %(n)d 行日期无效：%(line)s") % {"n": n, "line": line.strip()})
            continue
        if last < first or (last - first).days > 31:
            errors.append(_("第 %(n)d 行日期范围无效：%(line)s") % {"n": n, "line": line.strip()})
            continue
        name = m[4] or (_("调休上班") if m[3] == "班" else _("休息"))
        day = first
        while day <= last:
            rows.append({"date": day, "is_off_day": m[3] == "休", "name": name})
            day += dt.timedelta(days=1)
    if errors:
        raise forms.ValidationError(errors)
    if not rows:
        raise forms.ValidationError(_("请至少输入一行安排"))
    return rows


class ScheduleForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    lines = forms.CharField(
        label=_("放假与调休安排"), widget=forms.Textarea(attrs={"rows": 14, "cols": 60}),
        help_text=_("每行一段：日期（或“起 至 止”）、“休”或“班”、名称。例如：2027-02-06 至 2027-02-12 休 春节；2027-02-14 班 春节调休"))
    note = forms.CharField(label=_("通知文号或网址"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("year") and cleaned.get("lines"):
            try:
                cleaned["rows"] = parse_schedule(cleaned["lines"], cleaned["year"])
            except forms.ValidationError as exc:
                self.add_error("lines", exc)
        return cleaned


@admin.register(Holiday)
class HolidayAdmin(SystemAdminEditable):
    """One day at a time, or a year's whole schedule at once (``services.holidays_enter``: one
    trace entry for the schedule, then every provisional due date is recomputed)."""

    list_display = ["date", "weekday", "name", "is_off_day", "year", "source", "note"]
    list_filter = ["year", "is_off_day", "source"]
    search_fields = ["name", "note"]
    date_hierarchy = "date"
    change_list_template = "admin/deadlines/holiday/change_list.html"

    @admin.display(description=_("星期"))
    def weekday(self, obj):
        return "一二三四五六日"[obj.date.weekday()]

    def get_urls(self):
        return [path("schedule/", self.admin_site.admin_view(self.schedule_view), name="deadlines_holiday_schedule"), *super().get_urls()]

    def schedule_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied(_("只有系统管理员可以录入节假日安排"))
        initial = {"year": timezone.localdate().year + 1}
        form = ScheduleForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            year = form.cleaned_data["year"]
            done = services.holidays_enter(year, form.cleaned_data["rows"], actor=request.user, note=form.cleaned_data["note"])
            messages.success(request, _("已录入 %(year)d 年安排：新增 %(created)d 天，更新 %(updated)d 天；重新计算暂定期限 %(recomputed)d 个。")
                             % {"year": year, **done})
            return redirect(f"{reverse('admin:deadlines_holiday_changelist')}?year__exact={year}")
        return render(request, "admin/deadlines/holiday/schedule.html", {
            **self.admin_site.each_context(request), "form": form, "title": _("录入全年放假与调休安排"), "opts": self.model._meta})

    def save_model(self, request, obj, form, change):
        services.holiday_save(obj, actor=request.user, change=change)

    def delete_model(self, request, obj):
        services.holiday_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.holiday_delete(obj, actor=request.user)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(SystemAdminEditable):
    list_display = ["name", "version", "amount", "unit", "effective_from", "effective_to", "confirmed"]
    list_filter = ["unit", "kind", "confirmed"]
    search_fields = ["code", "name", "legal_basis"]
    fieldsets = [
        (None, {"fields": ["code", "version", "name", "kind", "amount", "unit", "roll_forward", "window_start", "window_end",
                           "obligor", "remind_days"]}),
        (_("依据与有效期"), {"fields": ["legal_basis", "effective_from", "effective_to", "confirmed", "note"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.rule_save(obj, actor=request.user, change=change)

    def delete_model(self, request, obj):
        services.rule_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.rule_delete(obj, actor=request.user)


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnly):
    list_display = ["bureau", "doc_type", "year", "last_number"]
    list_filter = ["doc_type", "year"]


@admin.register(Clock)
class ClockAdmin(ReadOnly):
    list_display = [labelled("procedure", _("事项类型"), trace.object_type_label), "object_id", "clock_name",
                    coded("rule_code", _("期限规则")), "rule_version", "started_on", "due_on", "provisional", "state", "overdue",
                    coded("division_code", _("区划"))]
    list_filter = ["state", "provisional", "overdue"]
    search_fields = ["procedure", "rule_code", "division_code"]
    CLOCK_NAMES = {"main": _("办理期限"), "step": _("环节期限"), "correction": _("整改期限"), "verify": _("核查期限")}

    @admin.display(description=_("计时"), ordering="name")
    def clock_name(self, obj):
        return self.CLOCK_NAMES.get(obj.name) or _("其他计时")


@admin.register(SweepLease)
class SweepLeaseAdmin(ReadOnly):
    # What each scheduled sweep does, in words (the names are the scheduler's keys).
    SWEEP_LABELS = {
        "analytics.rollups": _("统计汇总：在办工作与每日趋势（每分钟）"),
        "analytics.task_days": _("统计汇总：任务与推送日汇总（每10分钟）"),
        "complaints.overdue_warnings": _("投诉举报逾期预警"),
        "deadlines.calendar_coverage": _("检查法定节假日安排是否已录入"),
        "deadlines.clocks": _("期限计时：提醒、逾期与升级"),
        "entities.recount": _("市场主体计数核对（每晚）"),
        "grid.receipt_warnings": _("推送事项签收时限预警"),
        "trace.checkpoint": _("留痕链检查点签名与锚定（每10分钟，有变化时）"),
    }

    @admin.display(description=_("定时任务"), ordering="name")
    def sweep(self, obj):
        return self.SWEEP_LABELS.get(obj.name) or _("其他定时任务")

    list_display = ["sweep", "last_status", "last_started_at", "last_finished_at", "next_run_at", "holder", "expires_at", "run_count"]
