"""DRF serializer field that masks personal data for readers without the right to see it."""
from __future__ import annotations

from rest_framework import serializers

from .masking import MASKERS, shown


class MaskedField(serializers.CharField):
    """Read-only ``CharField`` masked by ``kind`` ("id", "phone", "name") unless the request's user
    may see personal data in this record (``can_see_personal_data(user, record)``)."""

    def __init__(self, kind: str, **kwargs):
        if kind not in MASKERS:
            raise ValueError(f"unknown mask kind {kind!r}")
        self.kind = kind
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        self._record = instance
        return super().get_attribute(instance)

    def to_representation(self, value):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return shown(value, self.kind, user, getattr(self, "_record", None))
