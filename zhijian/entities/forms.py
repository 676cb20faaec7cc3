from django import forms
from django.utils.translation import gettext_lazy as _

from zhijian.core.scoping import jurisdiction_of
from zhijian.geo.models import Division
from zhijian.geo.widgets import DivisionPicker

from .choices import EntityStatus, EntityType
from .models import Industry


class SearchForm(forms.Form):
    """The registry list's filters. Divisions and industries are picked by name; the codes only
    travel in the URL (links from other pages may carry any code of the jurisdiction)."""

    q = forms.CharField(label=_("名称或信用代码"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("输入名称的一部分或18位信用代码"), "autofocus": True}))
    division = forms.RegexField(label=_("区划"), regex=r"^\d{2,12}$", required=False, widget=DivisionPicker)
    grid = forms.IntegerField(label=_("网格"), required=False, widget=forms.HiddenInput)
    industry = forms.RegexField(label=_("行业"), regex=r"^\d{2,4}$", required=False, widget=forms.Select)
    entity_type = forms.ChoiceField(label=_("主体类型"), required=False, choices=[("", _("全部"))] + EntityType.choices)
    status = forms.ChoiceField(label=_("登记状态"), required=False, choices=[("", _("全部"))] + EntityStatus.choices)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        selected = (self.data.get("division") or "").strip() if self.is_bound else ""
        self.fields["division"].widget.choices = division_choices(user, selected)
        industry = (self.data.get("industry") or "").strip() if self.is_bound else ""
        self.fields["industry"].widget.choices = industry_choices(industry)

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def _indent(level: int, base: int) -> str:
    return "\u3000" * max(0, level - base)


def division_choices(user, selected: str = "") -> list:
    """"All", the path down to the chosen division, and the chosen division's children, by name:
    choosing a child and searching again goes one level down."""
    roots = [p for p in jurisdiction_of(user)] if user is not None else [""]
    choices = [("", _("全部（本辖区）"))]
    if not roots:
        return choices
    inside = selected and any(selected.startswith(r) for r in roots)
    path = []
    if inside:
        codes = [selected[:n] for n in (2, 4, 6, 9, 12) if n <= len(selected)]
        path = list(Division.objects.filter(code__in=codes).order_by("level").values_list("code", "name", "level"))
        path = [p for p in path if any(p[0].startswith(r) for r in roots)]
        parents = [selected]
    else:
        parents = [r for r in roots if r] or None
    if parents is None:  # a national jurisdiction: the provinces
        rows = list(Division.objects.filter(level=1).order_by("code").values_list("code", "name", "level"))
    else:
        rows = [] if inside else list(Division.objects.filter(code__in=parents).values_list("code", "name", "level"))
        level_rows = list(Division.objects.filter(parent_id__in=parents).order_by("code").values_list("code", "name", "level")[:400])
        rows += level_rows
        # A level of one or two divisions (东莞市 → 东莞市 → its towns) says little: show the next one too.
        while level_rows and len(level_rows) <= 2:
            level_rows = list(Division.objects.filter(parent_id__in=[r[0] for r in level_rows]).order_by("code")
                              .values_list("code", "name", "level")[:400])
            rows += level_rows
        rows.sort(key=lambda r: r[0])
    base = path[0][2] if path else None
    for code, name, level in path:
        choices.append((code, _indent(level, base) + name))
    if base is None and rows:
        base = min(r[2] for r in rows)
    shown = {c for c, _n in choices}
    for code, name, level in rows:
        if code not in shown:
            choices.append((code, _indent(level, base) + name))
    if selected and selected not in {c for c, _n in choices}:
        choices.append((selected, selected))
    return choices


def industry_choices(selected: str = "") -> list:
    """GB/T 4754 divisions (大类) grouped by section (门类), by name."""
    rows = list(Industry.objects.filter(level__lte=2).order_by("code").values_list("code", "name", "level", "parent_id"))
    sections = {c: n for c, n, lv, _p in rows if lv == 1}
    groups: dict[str, list] = {}
    for code, name, level, parent in rows:
        if level == 2:
            groups.setdefault(parent, []).append((code, name))
    choices = [("", _("全部行业"))]
    if selected and len(selected) > 2:
        name = Industry.objects.filter(code=selected).values_list("name", flat=True).first()
        choices.append((selected, name or selected))
    for section in sorted(groups):
        choices.append((sections.get(section, section), groups[section]))
    return choices


class UploadForm(forms.Form):
    file = forms.FileField(label=_("文件（CSV 或 .xlsx）"))
    dry_run = forms.BooleanField(label=_("只校验，不写入"), required=False)
