"""Pickers by name for forms: nobody types a division code, a business-line code or a user id.

* ``DivisionPicker`` — a select of the user's divisions (works without JavaScript), which
  static/geo/picker.js turns into a search box by name showing the path
  (济南市 › 历下区 › 泉城路街道) over ``/geo/divisions/search/``; the code is submitted as the value.
* ``NamePicker`` — checkboxes with a filter-by-name box (people, business lines, industries,
  departments): a CheckboxSelectMultiple that picker.js gives a search field when it is long.
* ``division_field(...)`` — the form field that goes with DivisionPicker: it accepts only a
  division of the user's jurisdiction (``DivisionField.set_user``).

Include ``{{ form.media }}`` (or static/geo/picker.js and geo.css) on the page."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import queries
from .models import Division

MEDIA = forms.Media(css={"all": ["geo/picker.css"]}, js=["geo/picker.js"])


class DivisionPicker(forms.Select):
    template_name = "geo/widgets/division_picker.html"

    def __init__(self, attrs=None, choices=(), max_level: int = 5):
        super().__init__(attrs, choices)
        self.max_level = max_level

    @property
    def media(self):
        return MEDIA

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = value if isinstance(value, str) else (value[0] if isinstance(value, (list, tuple)) and value else "")
        context["widget"].update({
            "search_url": reverse("geo:division_search") + f"?max_level={self.max_level}",
            "path": queries.division_paths([value]).get(value, "") if value else "",
            "placeholder": _("输入区划名称搜索，如 泉城路"),
        })
        return context


class NamePicker(forms.CheckboxSelectMultiple):
    """Checkboxes with a filter box (added by picker.js when there are more than a few)."""

    template_name = "geo/widgets/name_picker.html"

    @property
    def media(self):
        return MEDIA

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["placeholder"] = _("输入名称筛选")
        return context


class DivisionField(forms.CharField):
    """A division code chosen with DivisionPicker; only divisions of the user's jurisdiction pass."""

    widget = DivisionPicker

    def __init__(self, *args, max_level: int = 5, min_length_code: int = 2, **kwargs):
        kwargs.setdefault("max_length", 12)
        super().__init__(*args, **kwargs)
        self.widget.max_level = max_level
        self.user = None

    def set_user(self, user, selected: str = ""):
        self.user = user
        choices = [("", _("请选择区划"))] if not self.required else [("", _("请选择区划"))]
        choices += queries.division_choices(user)
        if selected and selected not in {c for c, _n in choices}:
            if Division.objects.scoped(user).filter(code=selected).exists():
                choices.append((selected, queries.division_paths([selected])[selected]))
        self.widget.choices = choices

    def clean(self, value):
        value = super().clean(value)
        if value and (self.user is None or not Division.objects.scoped(self.user).filter(code=value).exists()):
            raise ValidationError(_("请从列表中选择本辖区内的区划"), code="invalid_division")
        return value
