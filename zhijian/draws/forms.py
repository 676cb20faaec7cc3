from django import forms
from django.utils.translation import gettext_lazy as _

from zhijian.entities.choices import EntityStatus, EntityType
from zhijian.entities.models import Industry
from zhijian.geo.widgets import DivisionField, NamePicker
from zhijian.inspections.models import BusinessLine
from zhijian.org.models import Bureau, Department

from .choices import DEFAULT_RATIOS, InspectionResult, RecusalKind


def _codes(value: str) -> list[str]:
    return [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]


def industry_choices() -> list[tuple[str, str]]:
    """GB/T 4754 divisions (大类) by name; the pool filters entities by the two-digit prefix."""
    return list(Industry.objects.filter(level=2).order_by("code").values_list("code", "name"))


class PlanForm(forms.Form):
    name = forms.CharField(label=_("计划名称"), max_length=200)
    period = forms.CharField(label=_("抽查期间"), max_length=20, help_text=_("如 2026 或 2026Q2"))
    bureau = forms.ModelChoiceField(label=_("组织机构"), queryset=Bureau.objects.none())
    departments = forms.ModelMultipleChoiceField(label=_("联合部门"), queryset=Department.objects.none(), required=False, widget=NamePicker)
    # Chosen by name (search or the list); the division's code is the pool's prefix.
    division_code = DivisionField(label=_("抽查范围（区划）"), max_level=4)
    # The lines of the supervision-matter list (S1); an administrator adds a line there first.
    business_lines = forms.MultipleChoiceField(label=_("业务条线"), required=False, widget=forms.CheckboxSelectMultiple)
    check_items = forms.CharField(label=_("检查事项代码"), required=False, help_text=_("逗号分隔"))
    industry_prefixes = forms.MultipleChoiceField(label=_("行业"), required=False, widget=NamePicker,
                                                  help_text=_("国民经济行业分类大类，可多选；不选为全部行业"))
    entity_types = forms.MultipleChoiceField(label=_("主体类型"), choices=EntityType.choices, required=False, widget=forms.CheckboxSelectMultiple)
    statuses = forms.MultipleChoiceField(label=_("登记状态"), choices=EntityStatus.choices, initial=["active"], widget=forms.CheckboxSelectMultiple)
    ratio_A = forms.DecimalField(label=_("A类比例（%）"), min_value=0, max_value=100, decimal_places=2, initial=DEFAULT_RATIOS["A"])
    ratio_B = forms.DecimalField(label=_("B类比例（%）"), min_value=0, max_value=100, decimal_places=2, initial=DEFAULT_RATIOS["B"])
    ratio_C = forms.DecimalField(label=_("C类比例（%）"), min_value=0, max_value=100, decimal_places=2, initial=DEFAULT_RATIOS["C"])
    ratio_D = forms.DecimalField(label=_("D类比例（%）"), min_value=0, max_value=100, decimal_places=2, initial=DEFAULT_RATIOS["D"])
    inspector_units = forms.ModelMultipleChoiceField(label=_("检查人员所在单位"), queryset=Bureau.objects.none(), widget=NamePicker)
    inspectors_per_entity = forms.IntegerField(label=_("每户检查人员数"), min_value=2, max_value=10, initial=2)
    recusal = forms.MultipleChoiceField(label=_("回避规则"), choices=RecusalKind.choices, required=False, initial=RecusalKind.values,
                                        widget=forms.CheckboxSelectMultiple)
    home_level = forms.TypedChoiceField(label=_("住址区划比对级别"), coerce=int, initial=9,
                                        choices=[(6, _("区县")), (9, _("乡镇街道")), (12, _("村居"))])

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bureau"].queryset = Bureau.objects.scoped(user)
        self.fields["inspector_units"].queryset = Bureau.objects.scoped(user)
        self.fields["departments"].queryset = Department.objects.scoped(user)
        self.fields["business_lines"].choices = list(BusinessLine.objects.values_list("code", "name"))
        self.fields["division_code"].set_user(user, (self.data.get("division_code") or "") if self.is_bound else "")
        self.fields["industry_prefixes"].choices = industry_choices()

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"], "period": d["period"], "bureau": d["bureau"], "departments": d["departments"],
            "division_code": d["division_code"], "business_lines": d["business_lines"], "check_items": _codes(d["check_items"]),
            "industry_prefixes": list(d["industry_prefixes"]), "entity_types": d["entity_types"], "statuses": d["statuses"],
            "ratios": {c: d[f"ratio_{c}"] for c in "ABCD"}, "inspector_units": d["inspector_units"],
            "inspectors_per_entity": d["inspectors_per_entity"],
            "recusal": {k: (d["home_level"] if k == RecusalKind.HOME_DIVISION else None) for k in d["recusal"]},
        }


class ResultForm(forms.Form):
    # No preselected result: a click on 录入 must not record "未发现问题" nobody chose.
    result = forms.ChoiceField(label=_("检查结果"), choices=[("", _("请选择检查结果")), *InspectionResult.choices])
    note = forms.CharField(label=_("说明"), max_length=500, required=False)
    inspected_on = forms.DateField(label=_("检查日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text=_("留空则取已签章现场检查笔录的检查日期；公示期限自检查日期起算"))
