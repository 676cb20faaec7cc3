from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import EntityStatus, EntityType


class SearchForm(forms.Form):
    q = forms.CharField(label=_("名称或信用代码"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("输入名称的一部分或18位信用代码"), "autofocus": True}))
    division = forms.RegexField(label=_("区划代码"), regex=r"^\d{2,12}$", required=False)
    grid = forms.IntegerField(label=_("网格"), required=False, widget=forms.HiddenInput)
    industry = forms.RegexField(label=_("行业代码"), regex=r"^[A-Ta-t]?\d{0,4}$", required=False)
    entity_type = forms.ChoiceField(label=_("主体类型"), required=False, choices=[("", _("全部"))] + EntityType.choices)
    status = forms.ChoiceField(label=_("登记状态"), required=False, choices=[("", _("全部"))] + EntityStatus.choices)

    def filters(self) -> dict:
        d = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        if "industry" in d:
            d["industry"] = d["industry"].upper()
        return d


class UploadForm(forms.Form):
    file = forms.FileField(label=_("文件（CSV 或 .xlsx）"))
    dry_run = forms.BooleanField(label=_("只校验，不写入"), required=False)
