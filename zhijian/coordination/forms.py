from django import forms
from django.utils.translation import gettext_lazy as _

from zhijian.geo.widgets import DivisionField, NamePicker

from .choices import Principle


class MatterForm(forms.Form):
    code = forms.SlugField(label=_("事项代码"), max_length=40)
    name = forms.CharField(label=_("事项名称"), max_length=100)
    principle = forms.ChoiceField(label=_("监管原则"), choices=Principle.choices)
    departments = forms.ModelMultipleChoiceField(label=_("责任部门"), queryset=None, widget=NamePicker)
    legal_basis = forms.CharField(label=_("法律依据"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    deadline_rule = forms.CharField(label=_("办理期限规则代码"), max_length=60, required=False, help_text=_("如 grid.first_visit"))
    deadline_hours = forms.IntegerField(label=_("签收时限（小时）"), min_value=1, required=False)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = departments


class RuleForm(forms.Form):
    matter = forms.ModelChoiceField(label=_("监管事项"), queryset=None)
    name = forms.CharField(label=_("规则名称"), max_length=100)
    industry_prefixes = forms.CharField(label=_("行业代码前缀"), max_length=500, required=False, help_text=_("逗号分隔，如 62,5225；H 表示整个门类"))
    keywords = forms.CharField(label=_("经营范围关键词"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("逗号或换行分隔。单个词按分词匹配，短语按原文匹配"))
    licence_types = forms.CharField(label=_("许可证类型"), max_length=500, required=False)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args, matters=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["matter"].queryset = matters


class ClueForm(forms.Form):
    text = forms.CharField(label=_("线索内容"), widget=forms.Textarea(attrs={"rows": 4}))
    place = forms.CharField(label=_("地点"), max_length=300, required=False)
    credit_code = forms.CharField(label=_("统一社会信用代码（可不填）"), max_length=18, required=False)
    division_code = DivisionField(label=_("所在区划"), required=False, help_text=_("填写了主体时可不选"))
    lng = forms.FloatField(label=_("经度"), required=False)
    lat = forms.FloatField(label=_("纬度"), required=False)
    photo = forms.ImageField(label=_("照片"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division_code"].set_user(user, (self.data.get("division_code") or "") if self.is_bound else "")


class ReplayScopeForm(forms.Form):
    """The range of a rule replay: a division of the user's jurisdiction picked by name (optional)."""

    division_prefix = DivisionField(label=_("范围（区划，可不选）"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division_prefix"].set_user(user, (self.data.get("division_prefix") or "") if self.is_bound else "")
