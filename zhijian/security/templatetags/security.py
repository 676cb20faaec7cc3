"""``{{ value|masked:"id" }}`` and ``{% masked_for value "phone" record %}``."""
from django import template

from ..audit import current_request
from ..masking import shown

register = template.Library()


@register.filter(name="masked")
def masked(value, kind="name"):
    """Mask ``value`` unless the person viewing the page may see personal data."""
    request = current_request.get()
    return shown(value, kind, getattr(request, "user", None))


@register.simple_tag(takes_context=True)
def masked_for(context, value, kind, record=None):
    """Like ``masked``, also unmasked for the record's own handler."""
    request = context.get("request") or current_request.get()
    return shown(value, kind, getattr(request, "user", None), record)
