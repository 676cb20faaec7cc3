"""Admin for supervision matters and their push rules (the system administrator's configuration).

Every save goes through ``rules.matter_save`` / ``rules.rule_save`` (checked, versioned, traced,
announced); a rule is deactivated, never deleted (push items keep the rule and version that pushed
them). Codes are shown with their names: industries by 国民经济行业 name, departments by name.
"""
from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from zhijian.deadlines.models import DeadlineRule
from zhijian.entities.models import Industry

from . import engine, rules
from .models import PushItem, PushReplay, PushRule, SupervisionMatter


def industry_names(prefixes: list[str]) -> str:
    """"62 软件和信息技术服务业、5225 …" for a list of industry-code prefixes."""
    names = dict(Industry.objects.filter(code__in=prefixes).values_list("code", "name"))
    return "、".join(f"{p} {names[p]}" if p in names else p for p in prefixes)


class PushRuleForm(forms.ModelForm):
    class Meta:
        model = PushRule
        fields = ("name", "industry_prefixes", "keywords", "licence_types", "active")

    def clean(self):
        # The same two checks rules.rule_save makes, asked here so a refusal shows on the form
        # instead of failing the save.
        cleaned = super().clean()
        probe = PushRule(**{f: cleaned.get(f) or "" for f in ("industry_prefixes", "keywords", "licence_types")})
        for p in probe.industry_list():
            if not engine.industry_keys(p):
                raise forms.ValidationError(_("行业代码前缀“%(p)s”无效") % {"p": p})
        if cleaned.get("name") and not (probe.industry_list() or probe.keyword_list() or probe.licence_list()):
            raise forms.ValidationError(_("规则至少要有一个行业代码前缀、关键词或许可证类型"))
        return cleaned


class RuleInline(admin.TabularInline):
    model = PushRule
    form = PushRuleForm
    extra = 0
    can_delete = False  # deactivate instead: pushed items keep their rule
    fields = ("name", "industry_prefixes", "industries", "keywords", "licence_types", "active", "version")
    readonly_fields = ("industries", "version")

    @admin.display(description=_("行业"))
    def industries(self, obj):
        return industry_names(obj.industry_list()) if obj and obj.pk else ""


@admin.register(SupervisionMatter)
class MatterAdmin(admin.ModelAdmin):
    list_display = ("name", "principle", "department_names", "deadline_rule_name", "deadline_hours", "active")
    list_filter = ("principle", "active")
    search_fields = ("name", "code")
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    inlines = [RuleInline]
    MATTER_FIELDS = ("code", "name", "principle", "legal_basis", "deadline_rule", "deadline_hours", "active")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("departments")

    @admin.display(description=_("责任部门"))
    def department_names(self, obj):
        return "、".join(d.name for d in obj.departments.all())

    @admin.display(description=_("办理期限规则"))
    def deadline_rule_name(self, obj):
        rule = DeadlineRule.objects.filter(code=obj.deadline_rule).order_by("-version").first() if obj.deadline_rule else None
        return rule.name if rule else obj.deadline_rule

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in self.MATTER_FIELDS if f in form.cleaned_data}
        stored = SupervisionMatter.objects.get(pk=obj.pk) if change else None
        saved = rules.matter_save(actor=request.user, matter=stored, departments=form.cleaned_data.get("departments"), **fields)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        # departments were set by matter_save; the rules go through rule_save one by one
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def save_formset(self, request, form, formset, change):
        matter = SupervisionMatter.objects.get(pk=form.instance.pk)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []  # the admin's change message reads these
        for rule_form in formset.forms:
            if not rule_form.has_changed() or not rule_form.cleaned_data:
                continue
            fields = {f: rule_form.cleaned_data[f] for f in rules.RULE_FIELDS if f in rule_form.cleaned_data}
            existing = rule_form.instance if rule_form.instance.pk else None
            saved = rules.rule_save(actor=request.user, matter=matter, rule=existing, **fields)
            if existing is None:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, rule_form.changed_data))


@admin.register(PushItem)
class PushItemAdmin(admin.ModelAdmin):
    list_display = ("id", "entity", "department", "matter", "state", "due_at", "created_at")
    list_filter = ("state", "trigger")
    raw_id_fields = ("entity", "rule", "reassigned_to", "claimed_by")
    readonly_fields = [f.name for f in PushItem._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PushReplay)
class PushReplayAdmin(admin.ModelAdmin):
    list_display = ("id", "dry_run", "total", "actor", "created_at")
    readonly_fields = [f.name for f in PushReplay._meta.fields]
