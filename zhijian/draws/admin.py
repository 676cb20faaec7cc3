"""Admin for the double-random draws.

Plans and draws are read-only here: a plan is created through its page (``services.plan_create``)
and a draw is a published record. The data a draw reads and people keep — credit-risk classes,
declared relations, past inspections — are edited here only through ``inputs`` (checked, traced,
announced by an event); a refused edit shows its reason on the form.
"""
from django.contrib import admin
from django.core.exceptions import ValidationError

from zhijian.core.errors import ApplicationError

from . import inputs
from .models import DeclaredRelation, Draw, DrawPlan, EntityRiskClass, PastInspection, RecusalRule, RiskClassRatio


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RatioInline(admin.TabularInline):
    model = RiskClassRatio
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecusalInline(RatioInline):
    model = RecusalRule


@admin.register(DrawPlan)
class DrawPlanAdmin(ReadOnly):
    list_display = ("name", "period", "bureau", "division_code")
    inlines = [RatioInline, RecusalInline]


@admin.register(Draw)
class DrawAdmin(ReadOnly):
    list_display = ("public_id", "plan", "state", "pool_size", "selected_count", "executed_at")
    exclude = ("seed_hex", "recusal_inputs")


class ThroughServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through ``inputs``; the form asks the same check first, so a refusal
    shows on the form instead of failing the save."""

    actions = None  # no bulk delete: each removal is its own traced action
    create_only: tuple[str, ...] = ()  # fields that name the row: set when it is added, then read-only

    def check_edit(self, request, cleaned: dict, obj) -> None:
        raise NotImplementedError

    def check_delete(self, request, obj) -> None:
        raise NotImplementedError

    def get_readonly_fields(self, request, obj=None):
        return self.create_only if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True
        try:
            self.check_delete(request, obj)
        except ApplicationError:
            return False
        return True

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        admin_ = self

        class Checked(form):
            def clean(self):
                cleaned = super().clean()
                try:
                    admin_.check_edit(request, cleaned, obj)
                except ApplicationError as exc:
                    raise ValidationError(exc.message) from None
                return cleaned

        return Checked


@admin.register(DeclaredRelation)
class DeclaredRelationAdmin(ThroughServiceAdmin):
    list_display = ("inspector", "credit_code", "relation", "created_at")
    search_fields = ("credit_code",)
    raw_id_fields = ("inspector",)
    fields = ("inspector", "credit_code", "relation")
    create_only = ("inspector", "credit_code")

    def check_edit(self, request, cleaned, obj):
        inspector = cleaned.get("inspector") or (obj.inspector if obj is not None else None)
        if inspector is not None:
            inputs.check_relation_actor(request.user, inspector)

    def check_delete(self, request, obj):
        inputs.check_relation_actor(request.user, obj.inspector)

    def save_model(self, request, obj, form, change):
        saved = inputs.relation_declare(actor=request.user, inspector=obj.inspector, credit_code=obj.credit_code,
                                        relation=form.cleaned_data["relation"])
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        inputs.relation_withdraw(actor=request.user, relation=obj)


@admin.register(PastInspection)
class PastInspectionAdmin(ThroughServiceAdmin):
    list_display = ("credit_code", "inspector", "inspected_on")
    search_fields = ("credit_code",)
    raw_id_fields = ("inspector",)

    def has_change_permission(self, request, obj=None):
        return False  # a past inspection is recorded or removed, not rewritten

    def check_edit(self, request, cleaned, obj):
        if cleaned.get("credit_code") and cleaned.get("inspector") is not None:
            inputs.check_past_actor(request.user, cleaned["credit_code"], cleaned["inspector"])

    def check_delete(self, request, obj):
        inputs.check_past_actor(request.user, obj.credit_code, obj.inspector)

    def save_model(self, request, obj, form, change):
        saved = inputs.past_inspection_record(actor=request.user, credit_code=form.cleaned_data["credit_code"],
                                              inspector=form.cleaned_data["inspector"], inspected_on=form.cleaned_data["inspected_on"])
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        inputs.past_inspection_remove(actor=request.user, past=obj)


@admin.register(EntityRiskClass)
class EntityRiskClassAdmin(ThroughServiceAdmin):
    list_display = ("entity", "risk_class", "assessed_on", "source")
    list_filter = ("risk_class",)
    raw_id_fields = ("entity",)
    create_only = ("entity",)

    def check_edit(self, request, cleaned, obj):
        entity = cleaned.get("entity") or (obj.entity if obj is not None else None)
        if entity is not None:
            inputs.check_actor(request.user, entity.division_code)

    def check_delete(self, request, obj):
        inputs.check_actor(request.user, obj.entity.division_code)

    def save_model(self, request, obj, form, change):
        inputs.risk_class_set(actor=request.user, entity=obj.entity, risk_class=form.cleaned_data["risk_class"],
                              assessed_on=form.cleaned_data["assessed_on"], source=form.cleaned_data.get("source", ""))

    def delete_model(self, request, obj):
        inputs.risk_class_clear(actor=request.user, entity=obj.entity)
