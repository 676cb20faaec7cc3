from django.contrib import admin

from .models import DeclaredRelation, Draw, DrawPlan, EntityRiskClass, PastInspection, RecusalRule, RiskClassRatio


class RatioInline(admin.TabularInline):
    model = RiskClassRatio
    extra = 0


class RecusalInline(admin.TabularInline):
    model = RecusalRule
    extra = 0


@admin.register(DrawPlan)
class DrawPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "period", "bureau", "division_code")
    inlines = [RatioInline, RecusalInline]


@admin.register(Draw)
class DrawAdmin(admin.ModelAdmin):
    list_display = ("public_id", "plan", "state", "pool_size", "selected_count", "executed_at")
    readonly_fields = ("seed_sha256", "params", "files", "recusal_sha256")
    exclude = ("seed_hex", "recusal_inputs")


@admin.register(DeclaredRelation)
class DeclaredRelationAdmin(admin.ModelAdmin):
    list_display = ("inspector", "credit_code", "relation", "created_at")
    search_fields = ("credit_code",)


@admin.register(PastInspection)
class PastInspectionAdmin(admin.ModelAdmin):
    list_display = ("credit_code", "inspector", "inspected_on")
    search_fields = ("credit_code",)


@admin.register(EntityRiskClass)
class EntityRiskClassAdmin(admin.ModelAdmin):
    list_display = ("entity", "risk_class", "assessed_on", "source")
    list_filter = ("risk_class",)
    raw_id_fields = ("entity",)
