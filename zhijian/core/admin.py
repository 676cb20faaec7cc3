"""Admin for the ledger (read-only), signing keys, events and webhooks (with replay actions)."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _, ngettext

from . import trace, webhooks
from .api import name_of
from .errors import ApplicationError
from .models import Delivery, DeliveryAttempt, Event, SigningKey, TraceChain, TraceEntry, WebhookSubscription


def coded(field: str, description, *, kind: str | None = None):
    """An admin column showing the name of the reference code held in ``field`` (never the code):
    ``list_display = [coded("division_code", _("区划")), …]``. ``kind`` is the registered code kind
    (``core.api.register_code_names``) when it differs from the field's name."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        return name_of(kind or field, getattr(obj, field)) or "—"

    column.__name__ = f"{field}_name"
    return column


def labelled(field: str, description, label=trace.action_label):
    """An admin column showing ``label(value)`` for a dotted code (trace actions, event types)."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        return label(getattr(obj, field))

    column.__name__ = f"{field}_label"
    return column


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger and the logs are written by services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TraceEntry)
class TraceEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "occurred_at", "actor_label", labelled("action", _("操作")),
                    labelled("object_type", _("对象"), trace.object_type_label), "object_id", coded("division_code", _("区划")),
                    "chain", "seq"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label", "division_code"]


@admin.register(TraceChain)
class TraceChainAdmin(ReadOnlyAdmin):
    list_display = ["name", "head_seq", "head_hash", "updated_at"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["kid", "active", "external", "created_at", "retired_at"]
    exclude = ["private_key_enc"]


def _replay(modeladmin, request, queryset, service, param):
    done = 0
    for obj in queryset:
        try:
            service(**{param: obj, "actor": request.user})
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, str(exc.message), messages.ERROR)
            return
    modeladmin.message_user(request, ngettext("已重新排队 %(n)d 条", "已重新排队 %(n)d 条", done) % {"n": done}, messages.SUCCESS)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", labelled("type", _("事件")), coded("division_code", _("区划")),
                    labelled("object_type", _("对象"), trace.object_type_label), "object_id", "state", "attempts", "created_at",
                    "dispatched_at"]
    list_filter = ["state"]
    search_fields = ["object_id", "division_code"]
    actions = ["replay"]

    @admin.action(description=_("重新分发所选事件"))
    def replay(self, request, queryset):
        _replay(self, request, queryset, webhooks.event_replay, "event")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "url", "event_types", "division_prefixes", "active"]
    list_filter = ["active"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "subscription", "event", "state", "attempts", "last_status", "last_error", "next_attempt_at", "delivered_at"]
    list_filter = ["state", "subscription"]
    search_fields = ["idempotency_key"]
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    @admin.action(description=_("重新投递所选记录"))
    def replay(self, request, queryset):
        _replay(self, request, queryset, webhooks.delivery_replay, "delivery")
