from django.contrib import admin

from .models import Clue


@admin.register(Clue)
class ClueAdmin(admin.ModelAdmin):
    """Read-only: a clue moves through its services (``clues.services``), never by hand here."""

    list_display = ("number", "source", "state", "department", "division_code", "created_at")
    list_filter = ("source", "state")
    search_fields = ("number", "source_ref")
    readonly_fields = [f.name for f in Clue._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
