from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from zhijian.core import parsers
from zhijian.core.errors import ApplicationError

from . import lines, services
from .models import BusinessLine, CheckItem, ChecklistVersion, Inspection, Law


class ReadOnly(admin.ModelAdmin):
    """Records change only through the services (and their trace entries)."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LineIndustriesForm(forms.ModelForm):
    class Meta:
        model = BusinessLine
        fields = ["industry_codes"]


@admin.register(BusinessLine)
class BusinessLineAdmin(ReadOnly):
    """Business lines come with a checklist version ("lines" of a publish), not by hand; their
    industries (which entities the line's inspections and draws pick) are edited here, traced."""

    list_display = ["name", "industries", "order"]
    form = LineIndustriesForm
    fields = ["name", "industry_codes", "industries"]
    readonly_fields = ["name", "industries"]

    def has_change_permission(self, request, obj=None):
        return True

    @admin.display(description=_("行业"))
    def industries(self, obj):
        return lines.industry_names(obj)

    def save_model(self, request, obj, form, change):
        try:
            lines.line_industries_save(actor=request.user, line=obj, codes=obj.industry_list())
        except ApplicationError as exc:
            messages.error(request, exc.message)


class PublishForm(forms.Form):
    effective_on = forms.DateField(label=_("生效日期"))
    note = forms.CharField(label=_("说明"), max_length=300, required=False)
    changes = forms.CharField(
        label=_("变更（JSON）"), widget=forms.Textarea(attrs={"rows": 14, "cols": 100}), initial="{}",
        help_text=_('{"lines": [{"code", "name"}], "add": [{"business_line", "part", "section", "number", "text", "key_item", "basis"}], '
                    '"update": {"food_sales//1.1": {"text": …}}, "remove": ["food_sales//1.2"]}'),
    )

    def clean_changes(self):
        try:
            value = parsers.loads(self.cleaned_data["changes"] or "{}")  # depth-limited: never a RecursionError
        except parsers.JSONProblem as exc:
            raise forms.ValidationError(_("不是有效的 JSON：%(reason)s") % {"reason": exc.message}) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("须为 JSON 对象"))
        return value


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(ReadOnly):
    list_display = ["number", "effective_on", "published", "published_at", "based_on", "note", "publish_link"]

    @admin.display(description=_("操作"))
    def publish_link(self, obj):
        if not obj.published:
            return ""
        return format_html('<a href="{}">{}</a>', reverse("admin:inspections_checklist_publish", args=[obj.pk]), _("基于此版本发布新版本"))

    def get_urls(self):
        return [path("<int:pk>/publish/", self.admin_site.admin_view(self.publish_view), name="inspections_checklist_publish"),
                *super().get_urls()]

    def publish_view(self, request, pk):
        based_on = get_object_or_404(ChecklistVersion, pk=pk)
        form = PublishForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            changes = dict(form.cleaned_data["changes"], effective_on=form.cleaned_data["effective_on"], note=form.cleaned_data["note"])
            try:
                version = services.checklist_publish(actor=request.user, based_on=based_on, changes=changes)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已发布 %(v)s") % {"v": version})
                return redirect(reverse("admin:inspections_checklistversion_changelist"))
        return render(request, "inspections/admin_publish.html", {**self.admin_site.each_context(request), "form": form,
                                                                    "based_on": based_on, "title": _("发布新版本")})

    def has_change_permission(self, request, obj=None):
        # "change" here is publishing a new version (the only way a checklist changes): the system
        # administrator (security.roles.ADMIN_MODEL_PERMISSIONS gives it "add").
        return request.user.has_perm("inspections.add_checklistversion")


@admin.register(CheckItem)
class CheckItemAdmin(ReadOnly):
    list_display = ["version", "business_line", "part", "number", "key_item", "text", "basis"]
    list_filter = ["version", "business_line", "key_item"]
    search_fields = ["text", "basis"]


@admin.register(Law)
class LawAdmin(ReadOnly):
    list_display = ["name", "version_date", "article_count", "file_name"]


@admin.register(Inspection)
class InspectionAdmin(ReadOnly):
    list_display = ["number", "entity_name", "state", "conclusion", "finished_at", "division_code"]
    list_filter = ["state", "conclusion"]
    search_fields = ["number", "entity_name", "entity__credit_code", "client_key"]
