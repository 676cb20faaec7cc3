import django_filters
from django.utils.translation import gettext_lazy as _

from .choices import AuditEvent, AuditOutcome
from .models import AuditLog


class AuditLogFilter(django_filters.FilterSet):
    """One filter for the audit page, its CSV export and the API."""

    since = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("起始时间"))
    until = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("截止时间"))
    event = django_filters.MultipleChoiceFilter(choices=AuditEvent.choices, label=_("事件"))
    outcome = django_filters.ChoiceFilter(choices=AuditOutcome.choices, label=_("结果"))
    username = django_filters.CharFilter(field_name="username", lookup_expr="iexact", label=_("用户名"))
    ip = django_filters.CharFilter(field_name="ip", label=_("IP 地址"))

    class Meta:
        model = AuditLog
        fields = ["since", "until", "event", "outcome", "username", "ip"]
