from django import forms
from django.utils.translation import gettext_lazy as _

from zhijian.deadlines.models import DeadlineRule

from zhijian.entities.choices import EntityType

from .choices import TaskSource, TemplateKind


def rule_choices():
    """Deadline rules by name (the code stays the option's value, never its text)."""
    codes = DeadlineRule.objects.order_by("code").values_list("code", "name").distinct()
    return [("", _("不按规则"))] + [(c, n) for c, n in dict(codes).items()]


class TaskCreateForm(forms.Form):
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=18, min_length=18)
    title = forms.CharField(label=_("任务名称"), max_length=200)
    source = forms.ChoiceField(label=_("来源"), choices=TaskSource.choices, initial=TaskSource.MANUAL)
    source_ref = forms.CharField(label=_("来源编号"), max_length=64, required=False)
    business_line = forms.CharField(label=_("业务条线"), max_length=40, required=False)
    deadline_rule = forms.ChoiceField(label=_("期限规则"), required=False)
    due_on = forms.DateField(label=_("办理期限"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                             help_text=_("选择了期限规则时按规则计算"))
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deadline_rule"].choices = rule_choices()


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("模板名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=TemplateKind.choices)
    business_lines = forms.CharField(label=_("业务条线"), max_length=200, required=False, help_text=_("逗号分隔"))
    deadline_rule = forms.ChoiceField(label=_("期限规则"), required=False)
    industry_prefixes = forms.CharField(label=_("行业代码前缀"), max_length=200, required=False, help_text=_("逗号分隔，如 62,52"))
    division_prefix = forms.RegexField(label=_("区划代码前缀"), regex=r"^\d{0,12}$", max_length=12, required=False)
    entity_types = forms.MultipleChoiceField(label=_("主体类型"), choices=EntityType.choices, required=False,
                                             widget=forms.CheckboxSelectMultiple, help_text=_("不选：全部类型"))
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deadline_rule"].choices = rule_choices()

    def clean_entity_types(self):
        return ",".join(self.cleaned_data["entity_types"])


class RunForm(forms.Form):
    bureau = forms.ModelChoiceField(label=_("执行机构"), queryset=None)
    run_key = forms.CharField(label=_("批次"), max_length=40, required=False, help_text=_("留空：日常巡查按月（如 2026-03），专项检查仅一次"))
    limit = forms.IntegerField(label=_("最多生成"), min_value=1, required=False)

    def __init__(self, *args, bureaus=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bureau"].queryset = bureaus
